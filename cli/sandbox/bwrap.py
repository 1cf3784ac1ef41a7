"""The sandbox learner code runs in: bubblewrap (bwrap) with new namespaces, no capabilities
and the seccomp filter of seccomp.py.

What a sandboxed worker has:
- new user, PID, network, IPC, UTS and (where possible) cgroup namespaces; it runs as uid/gid
  4242 inside its user namespace (mapped to the caller, root included), with no capabilities
  and no way to make further user namespaces; it is PID 1 of its namespace, so every process
  it starts dies with it, and /proc is a fresh one that shows only them;
- its own session (no terminal to push input into), and it dies with its parent;
- a file system built from nothing: the system folders (/usr, /etc without the files only
  root may read, /sys), the interpreter, its site-packages and this package, all read-only;
  the learner's own folder read-only; a private empty /tmp, the only place it can write;
- not there at all: home folders, the rest of the disk, .mi-exercise/, graders and solutions,
  other submissions, the results folder; folders to hide that sit under something bound
  (the package's `_content`, a workspace's `.mi-exercise/`) are covered with an empty tmpfs;
- GPU device nodes (/dev/nvidia*, /dev/dri) bound through when they exist.

bwrap reads the seccomp program from a file descriptor, so the prefix starts with a tiny
launcher (`python -I -S -c ...`) that opens the filter file afresh for every start and execs
bwrap with its number: the same prefix can start any number of workers.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from mi_exercise import paths
from mi_exercise.paths import user_dir
from mi_exercise.sandbox import seccomp

SANDBOX_ID = 4242  # not 65534: that is what an unmapped id looks like inside a namespace
FD_MARK = "@SECCOMP_FD@"
LAUNCHER = ("import os,sys;fd=os.open(sys.argv[1],os.O_RDONLY);os.set_inheritable(fd,True);"
            "a=[str(fd) if x=='" + FD_MARK + "' else x for x in sys.argv[2:]];os.execv(a[0],a)")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def gpu_devices() -> list[str]:
    """The GPU device nodes to bind through: NVIDIA's (/dev/nvidia*, nvidia-caps) and DRI's."""
    try:
        names = os.listdir("/dev")
    except OSError:
        return []
    return sorted(f"/dev/{n}" for n in names if n.startswith("nvidia") or n == "dri")


class SandboxUnavailable(Exception):
    """No sandbox can be made here; the message says why."""


@functools.lru_cache(maxsize=1)
def python_paths() -> list[Path]:
    """What `python -I` imports from: the prefixes, the standard library, site-packages and the
    folders their .pth files add (a venv that reuses another's packages), and this package."""
    found = [sys.base_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))]
    found += [p for key, p in sysconfig.get_paths().items() if key in ("stdlib", "platstdlib", "purelib", "platlib")]
    for sp in site.getsitepackages():
        found.append(sp)
        try:
            pths = sorted(n for n in os.listdir(sp) if n.endswith(".pth"))
        except OSError:
            continue
        for name in pths:
            try:
                lines = Path(sp, name).read_text().splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for line in lines:
                line = line.strip()
                if line and not line.startswith(("#", "import ", "import\t")):
                    found.append(os.path.join(sp, line))
    found.append(str(paths.PACKAGE_DIR))
    return _outermost(Path(p).resolve() for p in found if p and os.path.isdir(p))


def _outermost(folders) -> list[Path]:
    """The folders, without those inside another one of them, in a stable order."""
    folders = sorted(set(folders), key=lambda p: (len(p.parts), str(p)))
    out: list[Path] = []
    for f in folders:
        if not any(f.is_relative_to(o) for o in out):
            out.append(f)
    return out


def always_hidden() -> list[Path]:
    """Folders no learner code may see, wherever they are: every grader folder the CLI knows,
    the installed package's content, and this user's mi-exercise data (progress copies) and cache."""
    return [paths.graders_dir(), paths.content_root(), paths.PACKAGE_DIR / "_content",
            paths.PACKAGE_DIR.parent / "graders", paths.PACKAGE_DIR.parent / "exercises", paths.PACKAGE_DIR.parent / ".git",
            user_dir("data"), user_dir("cache")]


@functools.lru_cache(maxsize=1)
def _etc_binds() -> tuple[str, ...]:
    """/etc read-only, minus what only root may read (shadow, sudoers, ssh host keys): inside,
    the sandbox's uid maps to the caller, who may be root."""
    args = ["--ro-bind", "/etc", "/etc"]
    try:
        entries = list(os.scandir("/etc"))
    except OSError:
        return tuple(args)
    for e in entries:
        try:
            mode = e.stat(follow_symlinks=False).st_mode
        except OSError:
            continue
        if not mode & 0o004:
            args += (["--tmpfs", e.path, "--remount-ro", e.path] if e.is_dir(follow_symlinks=False)
                     else ["--ro-bind", "/dev/null", e.path])
    if os.path.isdir("/etc/ssl/private"):
        args += ["--tmpfs", "/etc/ssl/private", "--remount-ro", "/etc/ssl/private"]
    return tuple(args)


@dataclass
class Sandbox:
    """A working bwrap on this machine, and how to wrap a command in it."""

    bwrap: str
    seccomp_file: Path
    version: str = ""
    uid: int = SANDBOX_ID
    extra_env: dict = field(default_factory=dict)

    @staticmethod
    def hidden_for(readable=(), hidden=()) -> list[Path]:
        """The folders a sandbox with these `readable` and `hidden` folders covers: `hidden`, and
        every folder hidden by default that holds none of the readable ones."""
        shown = [Path(p).resolve() for p in readable]
        auto = [h for h in always_hidden() if not any(r.is_relative_to(h) for r in shown)]
        return list(dict.fromkeys([*auto, *(Path(h).resolve() for h in hidden)]))

    def prefix(self, readable=(), hidden=(), die_with_parent: bool = True) -> list[str]:
        """The command prefix for one sandboxed process. `readable`: folders bound read-only
        (the learner's files); nothing outside a private /tmp is writable (a zygote gets its
        listening socket as a descriptor, not a folder);
        `hidden`: folders covered with an empty tmpfs when something bound contains them.
        `die_with_parent=False` only for a detached zygote (`WarmPool.start(detached=True)`), which outlives its starter."""
        cmd = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(self.seccomp_file), self.bwrap,
               "--unshare-user", "--uid", str(self.uid), "--gid", str(self.uid), "--disable-userns",
               "--unshare-pid", "--as-pid-1", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--cap-drop", "ALL", "--new-session", *(["--die-with-parent"] if die_with_parent else []),
               "--seccomp", FD_MARK,
               "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp", "--tmpfs", "/dev/shm",
               "--dir", "/run", "--ro-bind", "/sys", "/sys",
               "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp"]
        for d in SYSTEM_DIRS:
            if os.path.islink(d):
                cmd += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d):
                cmd += ["--ro-bind", d, d]
        cmd += _etc_binds()
        bound = python_paths()
        for p in bound:
            cmd += ["--ro-bind", str(p), str(p)]
        hf = _hf_cache()
        if hf is not None:
            cmd += ["--ro-bind", str(hf), str(hf), "--setenv", "HF_HOME", str(hf)]
        for dev in gpu_devices():
            cmd += ["--dev-bind", dev, dev]
        shown = [Path(p).resolve() for p in readable]
        readable = _outermost(shown)
        for p in readable:
            cmd += ["--ro-bind", str(p), str(p)]
        roots = [*bound, *readable]
        hidden = [Path(h).resolve() for h in hidden]
        # A folder hidden by default stays hidden even inside a readable one (a workspace made
        # at the root of a checkout still has no graders/ or .git), unless the caller asked to
        # read something inside it (validate reads solutions and mutants in graders/). The
        # caller's own hidden folders win over its readable ones (a workspace's .mi-exercise/),
        # and a readable folder inside one is bound again after.
        for h in self.hidden_for(shown, hidden):
            if not any(h.is_relative_to(r) for r in roots) or any(r.is_relative_to(h) and r != h for r in bound):
                continue  # not visible anyway, or it holds the interpreter or this package
            if h.is_dir():  # an empty tmpfs, the readable folders inside it bound again, then read-only
                cmd += ["--tmpfs", str(h)]
                for p in shown:
                    if p.is_relative_to(h) and p != h:
                        cmd += ["--ro-bind", str(p), str(p)]
                cmd += ["--remount-ro", str(h)]
            elif h.exists():
                cmd += ["--ro-bind", "/dev/null", str(h)]
        for k, v in self.extra_env.items():
            cmd += ["--setenv", k, v]
        cmd += ["--remount-ro", "/"]  # the root bwrap built is a tmpfs: only /tmp (and /var/tmp, /dev/shm) stay writable
        return [*cmd, "--"]


def _hf_cache() -> Path | None:
    """The Hugging Face cache, read-only, so `--model gpt2` works sandboxed when the weights are there."""
    home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    return Path(home).resolve() if os.path.isdir(home) else None


# -- probing, once per machine ---------------------------------------------------------------
# The settings that decide whether user namespaces may be made: a change makes the probe run again.
USERNS_SETTINGS = ("/proc/sys/user/max_user_namespaces", "/proc/sys/kernel/unprivileged_userns_clone",
                   "/proc/sys/kernel/apparmor_restrict_unprivileged_userns")


def _machine_key(exe: str, version: str) -> str:
    settings = []
    for path in USERNS_SETTINGS:
        try:
            settings.append(Path(path).read_text().strip())
        except OSError:
            settings.append(None)
    text = json.dumps([exe, version, os.uname().release, os.geteuid(), sys.executable, seccomp.machine(), settings, 2])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _seccomp_file() -> Path:
    program = seccomp.build()
    folder = user_dir("cache")
    path = folder / f"seccomp-{seccomp.machine()}-{hashlib.sha256(program).hexdigest()[:12]}.bpf"
    if not path.is_file() or path.read_bytes() != program:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(program)
        tmp.replace(path)
    return path


_probed: dict[str, object] = {}


def probe(refresh: bool = False) -> Sandbox:
    """A Sandbox that works here, or SandboxUnavailable saying why. The answer is cached in the
    user's cache folder, keyed by bwrap's path and version, the kernel and the user."""
    if sys.platform != "linux":
        raise SandboxUnavailable(f"no sandbox on {sys.platform} (bubblewrap needs Linux)")
    exe = shutil.which("bwrap")
    if exe is None:
        raise SandboxUnavailable("bubblewrap (`bwrap`) is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
    exe = os.path.realpath(exe)
    try:
        seccomp_path = _seccomp_file()
    except (seccomp.SeccompUnsupported, OSError) as exc:
        raise SandboxUnavailable(str(exc)) from None
    st = os.stat(exe)
    key = _machine_key(exe, f"{st.st_size}:{st.st_mtime_ns}")
    if not refresh and key in _probed:
        return _answer(_probed[key])
    cache = user_dir("cache") / "sandbox-probe.json"
    try:
        cached = json.loads(cache.read_text())
    except (OSError, ValueError):
        cached = {}
    entry = cached.get(key) if isinstance(cached, dict) and not refresh else None
    if not isinstance(entry, dict) or "ok" not in entry:
        entry = _run_probe(exe, seccomp_path)
        cached = {key: entry}  # one machine, one answer: older keys are stale
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cached))
            tmp.replace(cache)
        except OSError:
            pass
    entry = {**entry, "seccomp": str(seccomp_path), "bwrap": exe}
    _probed[key] = entry
    return _answer(entry)


def _answer(entry) -> Sandbox:
    if not entry.get("ok"):
        raise SandboxUnavailable(entry.get("why") or "bubblewrap cannot make a sandbox here")
    return Sandbox(bwrap=entry["bwrap"], seccomp_file=Path(entry["seccomp"]), version=entry.get("version", ""))


PROBE_CODE = "import os;assert os.getuid()==%d and os.getpid()==1;print('ok')" % SANDBOX_ID


def _run_probe(exe: str, seccomp_path: Path) -> dict:
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"ok": False, "why": f"{exe} --version failed: {exc}", "at": time.time()}
    sandbox = Sandbox(bwrap=exe, seccomp_file=seccomp_path, version=version)
    cmd = [*sandbox.prefix(), sys.executable, "-I", "-c", PROBE_CODE]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"ok": False, "why": f"bubblewrap did not start: {exc}", "version": version, "at": time.time()}
    if run.returncode != 0 or run.stdout.strip() != "ok":
        why = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
        hint = ""
        if "namespace" in why.lower() or "permission" in why.lower():
            hint = " (user namespaces may be disabled: see kernel.unprivileged_userns_clone, or on Ubuntu 24.04 kernel.apparmor_restrict_unprivileged_userns)"
        return {"ok": False, "why": f"{version or 'bubblewrap'} cannot make a sandbox here: {why}{hint}",
                "version": version, "at": time.time()}
    return {"ok": True, "version": version, "at": time.time()}
