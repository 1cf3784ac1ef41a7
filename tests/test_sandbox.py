"""The sandbox: learner code run by check, watch, validate and grade cannot read the hidden
solutions, forge or destroy progress, reach the network or the host through /proc, make or
enter namespaces, or leave a process behind; grade refuses to run unsandboxed unless told.

The hostile submission is a correct solution with an attack spliced into each function (see
tests/hostile/attacks.py): a function answers wrongly when its attack got through, so a passed
test means the attack was refused.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

SOLUTION = (REPO / "graders" / "foundations" / "tensor-basics" / "solution.py").read_text()
ATTACKS = (Path(__file__).parent / "hostile" / "attacks.py").read_text()
LAYOUT = Path("00-foundations") / "tensor_basics.py"


def sandbox_works() -> bool:
    try:
        from mi_exercise.sandbox import probe
    except ImportError:
        return shutil.which("bwrap") is not None  # old code: the tests below must fail there, not skip
    try:
        probe()
        return True
    except Exception:  # noqa: BLE001
        return False


needs_sandbox = pytest.mark.skipif(not sandbox_works(), reason="no sandbox here (bubblewrap missing or unusable)")


def hostile(port: int, marker: str) -> str:
    """The attacks, a daemon started at import, and the solution with one attack per function."""
    guards = {
        "arange_grid": "find_solutions()", "diag_matrix": f"reach_network({port})", "every_other_row": "plant_file()",
        "select_rows": "forge_progress()", "mask_negative": "destroy_progress()", "add_row_vector": "proc_escape()",
        "outer_sum": "enter_other_netns()", "row_means": "see_trusted_side()", "argmax_per_row": "make_namespaces()",
    }
    source = SOLUTION
    for name, attack in guards.items():
        start = source.index(f"def {name}(")
        body = source.index(":\n", start) + 2
        source = source[:body] + f"    if {attack}:\n        return None\n" + source[body:]
    head, _, rest = source.partition("import torch")
    return f"{ATTACKS}\n\nstart_daemon({marker!r})\n\n{head}import torch{rest}"


@pytest.fixture
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    yield srv.getsockname()[1]
    srv.close()


@pytest.fixture
def user_dirs(tmp_path):
    """This test's own data folder (progress copies); the sandbox probe's cache stays shared."""
    return {"XDG_DATA_HOME": str(tmp_path / "data")}


def alive_with(marker: str) -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    out.append(int(pid))
            except OSError:
                pass
    return out


def assert_every_attack_refused(tests: dict, marker: str) -> None:
    failed = {n: t.get("message", "")[:200] for n, t in tests.items() if t["outcome"] != "passed"}
    assert not failed, f"attacks that got through (their tests failed): {failed}"
    assert len(tests) == 11
    assert not alive_with(marker), "a process the submission started outlived the check"


# -- check ---------------------------------------------------------------------------------
@needs_sandbox
@pytest.mark.slow
def test_check_is_sandboxed_by_default_and_every_attack_is_refused(content, tmp_path, listener, user_dirs):
    env = {"MI_EXERCISE_CONTENT": str(content), "MI_EXERCISE_SERVER": "on", **user_dirs}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    marker = f"mi-daemon-{uuid.uuid4().hex}"
    (ws / LAYOUT).write_text(hostile(listener, marker))
    result = run_cli("check", "tensor-basics", "--json", cwd=ws, env=env)
    assert "running unsandboxed" not in result.stderr
    tests = {t["name"]: t for t in json.loads(result.stdout)["results"][0]["tests"]}
    try:
        assert_every_attack_refused(tests, marker)
    finally:
        for pid in alive_with(marker):
            os.kill(pid, 9)
    assert result.returncode == 0
    assert not (ws / LAYOUT.parent / "planted.txt").exists()
    progress = json.loads(run_cli("progress", "--json", cwd=ws, env=env).stdout)
    assert progress["passed"] == 1 and all(not h["exercise"].startswith("forged") for h in progress["history"])
    assert (ws / ".mi-exercise" / "progress.db").is_file()


@needs_sandbox
@pytest.mark.slow
@pytest.mark.parametrize("flags", [[], ["--sandbox"]], ids=["default", "--sandbox"])
def test_grade_is_sandboxed_by_default_and_hides_the_class(content, tmp_path, listener, user_dirs, flags):
    env = {"MI_EXERCISE_CONTENT": str(content), **user_dirs}
    marker = f"mi-daemon-{uuid.uuid4().hex}"
    mallory = tmp_path / "class" / "mallory"
    (mallory / LAYOUT).parent.mkdir(parents=True)
    (mallory / LAYOUT).write_text(hostile(listener, marker))
    out = tmp_path / "out"
    (tmp_path / "class" / "alice" / LAYOUT).parent.mkdir(parents=True)
    (tmp_path / "class" / "alice" / LAYOUT).write_text(SOLUTION)  # another submission: invisible to mallory
    result = run_cli("grade", str(mallory), str(tmp_path / "class" / "alice"), "--out", str(out), *flags, env=env)
    assert result.returncode == 0, result.stderr
    rec = json.loads((out / "submissions" / "mallory" / "result.json").read_text())
    try:
        assert_every_attack_refused({t["name"]: t for t in rec["exercises"][0]["tests"]}, marker)
    finally:
        for pid in alive_with(marker):
            os.kill(pid, 9)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sandboxed"] is True and rec["sandboxed"] is True
    assert "without a sandbox" not in (out / "summary.md").read_text()


def _no_bwrap_env(tmp_path) -> dict:
    """A PATH with the interpreter but no bwrap, and a fresh cache (so the probe runs again)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("git",):
        if shutil.which(tool):
            os.symlink(shutil.which(tool), bin_dir / tool)
    return {"PATH": f"{Path(sys.executable).parent}:{bin_dir}", "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "XDG_DATA_HOME": str(tmp_path / "data")}


@pytest.mark.slow
def test_without_a_sandbox_check_says_so_and_grade_refuses_unless_no_sandbox(content, tmp_path):
    env = {"MI_EXERCISE_CONTENT": str(content), **_no_bwrap_env(tmp_path)}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    (ws / LAYOUT).write_text(SOLUTION)
    plain = run_cli("check", "tensor-basics", cwd=ws, env=env)
    assert plain.returncode == 0, plain.stderr
    notice = [line for line in plain.stderr.splitlines() if "running unsandboxed" in line]
    assert len(notice) == 1 and "bubblewrap" in notice[0], plain.stderr
    insist = run_cli("check", "tensor-basics", "--sandbox", cwd=ws, env=env)
    assert insist.returncode == 2 and "bubblewrap" in insist.stderr and "never falls back" in insist.stderr

    refused = run_cli("grade", str(ws), "--out", str(tmp_path / "out"), env=env)
    assert refused.returncode == 2 and "--no-sandbox" in refused.stderr and "bubblewrap" in refused.stderr
    assert not (tmp_path / "out" / "submissions").exists()  # nothing was graded
    graded = run_cli("grade", str(ws), "--out", str(tmp_path / "out"), "--no-sandbox", env=env)
    assert graded.returncode == 0, graded.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["sandboxed"] is False
    assert "Graded without a sandbox (`--no-sandbox`)" in (tmp_path / "out" / "summary.md").read_text()


@needs_sandbox
@pytest.mark.slow
def test_the_warm_worker_is_sandboxed_too(content, tmp_path, listener, user_dirs):
    """`worker start` runs the zygote inside the sandbox: a check forked from it is refused the
    same attacks, and its daemon dies with the worker (the zygote is PID 1 of the sandbox)."""
    env = {"MI_EXERCISE_CONTENT": str(content), "MI_EXERCISE_SERVER": "on", **user_dirs}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    marker = f"mi-daemon-{uuid.uuid4().hex}"
    (ws / LAYOUT).write_text(hostile(listener, marker))
    up = run_cli("worker", "start", "-C", str(ws), env=env)
    try:
        assert up.returncode == 0 and "sandboxed" in up.stdout and "unsandboxed" not in up.stdout, up.stdout + up.stderr
        result = run_cli("check", "tensor-basics", "--json", cwd=ws, env=env)
        status = run_cli("worker", "status", "-C", str(ws), env=env)
        assert "1 workers forked" in status.stdout, status.stdout  # the warm path was taken
        tests = {t["name"]: t for t in json.loads(result.stdout)["results"][0]["tests"]}
        failed = {n: t.get("message", "")[:200] for n, t in tests.items() if t["outcome"] != "passed"}
        assert not failed and len(tests) == 11, failed
    finally:
        run_cli("worker", "stop", "-C", str(ws), env=env)
        left = alive_with(marker)
        for pid in left:
            os.kill(pid, 9)
    assert not left, "a process the submission started outlived the warm worker"


def _as_nobody_works() -> str:
    """'' when `nobody` can run this interpreter and reach this checkout, else why not."""
    if os.geteuid() != 0 or not shutil.which("runuser"):
        return "needs root and runuser to switch to an ordinary user"
    probe = subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c", "import mi_exercise, torch"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return ("the user nobody cannot run this interpreter or import its packages here (" +
                (probe.stderr.strip().splitlines() or ["?"])[-1] + "); a venv outside a private home would allow it")
    return ""


@needs_sandbox
@pytest.mark.slow
@pytest.mark.skipif(bool(_as_nobody_works()), reason=_as_nobody_works() or "ok")
def test_check_as_an_ordinary_user_is_sandboxed_too(content, listener):
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="mi-nobody-"))
    try:
        root.chmod(0o777)
        ws = root / "ws"
        env = {"MI_EXERCISE_CONTENT": str(content), "XDG_DATA_HOME": str(root / "data"),
               "XDG_CACHE_HOME": str(root / "cache"), "HOME": str(root)}
        shutil.copytree(content, root / "content")
        env["MI_EXERCISE_CONTENT"] = str(root / "content")
        subprocess.run(["chmod", "-R", "a+rwX", str(root)], check=True)
        as_nobody = ["runuser", "-u", "nobody", "--", "env", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "mi_exercise"]
        assert subprocess.run([*as_nobody, "init", str(ws)], capture_output=True).returncode == 0
        marker = f"mi-daemon-{uuid.uuid4().hex}"
        (ws / LAYOUT).write_text(hostile(listener, marker))
        result = subprocess.run([*as_nobody, "check", "tensor-basics", "--json"], cwd=ws, capture_output=True, text=True,
                                timeout=300)
        assert "running unsandboxed" not in result.stderr, result.stderr
        tests = {t["name"]: t for t in json.loads(result.stdout)["results"][0]["tests"]}
        try:
            assert_every_attack_refused(tests, marker)
        finally:
            for pid in alive_with(marker):
                os.kill(pid, 9)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- inside the sandbox, without the CLI -------------------------------------------------------
INSIDE = r'''
import ctypes, errno, json, os, socket, subprocess, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
facts = {"uid": os.getuid(), "pid": os.getpid()}
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
facts["cap_eff"] = status["CapEff"].strip()
facts["cap_bnd"] = status["CapBnd"].strip()
facts["seccomp"] = status["Seccomp"].strip()
def err(nr, *args):
    libc.syscall.restype = ctypes.c_long
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return 0 if r == 0 else ctypes.get_errno()
facts["denied"] = {name: err(nr, 0, 0, 0, 0, 0) for name, nr in json.loads(sys.argv[1]).items()}
facts["unshare_user"] = err(json.loads(sys.argv[2])["unshare"], 0x10000000)
facts["clone3"] = err(json.loads(sys.argv[2])["clone3"], 0, 0)
facts["personality_no_aslr"] = err(json.loads(sys.argv[2])["personality"], 0x0040000)
fd = os.open("/dev/null", os.O_RDONLY)
facts["tiocsti"] = err(json.loads(sys.argv[2])["ioctl"], fd, 0x5412, 0)
t = threading.Thread(target=lambda: facts.__setitem__("thread", True)); t.start(); t.join()
facts["subprocess"] = subprocess.run([sys.executable, "-c", "print(6*7)"], capture_output=True, text=True).stdout.strip()
pid = os.fork()
if pid == 0:
    os._exit(7)
facts["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
facts["interfaces"] = [n for _, n in socket.if_nameindex()]
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[3])), timeout=2).close(); facts["network"] = True
except OSError:
    facts["network"] = False
facts["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
facts["proc1_root"] = sorted(os.listdir("/proc/1/root"))
facts["root"] = sorted(os.listdir("/"))
facts["found"] = subprocess.run(["find", "/", "-path", "/proc", "-prune", "-o", "-path", "/sys", "-prune", "-o",
                                 "(", "-name", "solution.py", "-o", "-name", "graders", "-o", "-name", "_content",
                                 "-o", "-name", ".git", "-o", "-name", "progress.db", ")", "-print"],
                                capture_output=True, text=True).stdout.split()
writable = []
for d in ["/", "/usr", "/etc", sys.prefix, os.path.dirname(os.__file__), sys.argv[4], "/var/tmp", "/tmp"]:
    try:
        with open(os.path.join(d, "mi-write-probe"), "w") as fh:
            fh.write("x")
        writable.append(d)
    except OSError:
        pass
facts["writable"] = writable
try:
    facts["shadow"] = open("/etc/shadow").read()
except OSError:
    facts["shadow"] = ""
print(json.dumps(facts))
'''


@needs_sandbox
def test_inside_the_sandbox_no_privilege_no_host_no_escape(tmp_path, listener):
    from mi_exercise.sandbox import probe, seccomp

    arch = seccomp.machine()
    col = 0 if arch == "x86_64" else 1
    denied = {name: nrs[col] for name, nrs in seccomp.DENIED.items() if nrs[col] is not None}
    numbers = {"unshare": seccomp.DENIED["unshare"][col], "clone3": seccomp.CLONE3,
               "personality": seccomp.PERSONALITY[arch], "ioctl": seccomp.IOCTL[arch]}
    learner = tmp_path / "learner"
    learner.mkdir()
    (learner / ".mi-exercise").mkdir()
    (learner / ".mi-exercise" / "progress.db").write_text("secret")
    prefix = probe().prefix(readable=[learner], hidden=[learner / ".mi-exercise"])
    run = subprocess.run([*prefix, sys.executable, "-I", "-c", INSIDE, json.dumps(denied), json.dumps(numbers),
                          str(listener), str(learner)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    facts = json.loads(run.stdout)
    assert facts["uid"] == 4242 and facts["pid"] == 1
    assert facts["cap_eff"] == facts["cap_bnd"] == "0000000000000000"
    assert facts["seccomp"] == "2"
    assert {n: e for n, e in facts["denied"].items() if e != errno.EPERM} == {}
    assert facts["unshare_user"] == errno.EPERM and facts["personality_no_aslr"] == errno.EPERM
    assert facts["clone3"] == errno.ENOSYS and facts["tiocsti"] == errno.EPERM
    assert facts["thread"] and facts["subprocess"] == "42" and facts["fork"] == 7  # ordinary work still works
    assert facts["interfaces"] == ["lo"] and facts["network"] is False
    assert max(facts["pids"]) < 100  # a PID namespace of its own: no host process is visible
    # /proc/1/root is the sandbox's own root, built from nothing: no home, no host-only folder
    assert facts["proc1_root"] == facts["root"]
    assert not {"home", "boot", "mnt", "opt", "srv"} & set(facts["root"])
    assert facts["found"] == [], f"visible inside the sandbox: {facts['found'][:10]}"
    assert facts["writable"] == ["/var/tmp", "/tmp"]
    assert "root:" not in facts["shadow"]
    assert not (learner / "mi-write-probe").exists()


@needs_sandbox
def test_a_daemon_started_inside_dies_with_the_sandbox(tmp_path):
    from mi_exercise.sandbox import probe

    marker = f"mi-daemon-{uuid.uuid4().hex}"
    code = ("import os, subprocess, sys\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            f"        subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)  # {marker}'])\n"
            "    os._exit(0)\n"
            "os.wait()\nimport time; time.sleep(0.5)\n")
    run = subprocess.run([*probe().prefix(), sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    import time

    deadline = time.monotonic() + 5
    while alive_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = alive_with(marker)
    for pid in left:
        os.kill(pid, 9)
    assert not left, "the daemon outlived the sandboxed process that started it"


# -- the seccomp program itself ----------------------------------------------------------------
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_seccomp_filter_decisions(arch):
    from mi_exercise.sandbox import seccomp as s

    program = s.build(arch)
    col = 0 if arch == "x86_64" else 1
    eperm, allow = s.RET_ERRNO | errno.EPERM, s.RET_ALLOW
    for name, nrs in s.DENIED.items():
        if nrs[col] is not None:
            assert s.evaluate(program, arch, nrs[col]) == eperm, name
    clone = s.CLONE[arch]
    for flag in (0x80, 0x20000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000):
        assert s.evaluate(program, arch, clone, (flag | 17,)) == eperm, hex(flag)
    assert s.evaluate(program, arch, clone, (0x003D0F00,)) == allow  # pthread_create's flags
    assert s.evaluate(program, arch, clone, (0x01200011,)) == allow  # fork()
    assert s.evaluate(program, arch, s.CLONE3) == s.RET_ERRNO | errno.ENOSYS
    assert s.evaluate(program, arch, s.IOCTL[arch], (0, 0x5412)) == eperm
    assert s.evaluate(program, arch, s.IOCTL[arch], (0, 0x1_0000_5412)) == eperm  # the kernel reads 32 bits
    assert s.evaluate(program, arch, s.IOCTL[arch], (0, 0x5401)) == allow  # TCGETS
    assert s.evaluate(program, arch, s.PERSONALITY[arch], (0x0040000,)) == eperm  # ADDR_NO_RANDOMIZE
    assert s.evaluate(program, arch, s.PERSONALITY[arch], (0xFFFFFFFF,)) == allow
    for nr in (0, 1, 9, 63, 200):  # read, write, mmap, ... on x86_64; others on aarch64
        if nr not in [n[col] for n in s.DENIED.values()] and nr not in (clone, s.IOCTL[arch], s.PERSONALITY[arch]):
            assert s.evaluate(program, arch, nr) == allow
    other = "aarch64" if arch == "x86_64" else "x86_64"
    assert s.evaluate(program, other, 0) == s.RET_KILL_PROCESS  # another architecture's entry point
    if arch == "x86_64":
        assert s.evaluate(program, arch, 0x40000000 + 165) == s.RET_KILL_PROCESS  # x32 mount


def test_seccomp_refuses_an_unknown_architecture():
    from mi_exercise.sandbox import seccomp as s

    with pytest.raises(s.SeccompUnsupported):
        s.build("riscv64")


@needs_sandbox
def test_graders_stay_hidden_inside_a_readable_folder_unless_asked_for(tmp_path):
    """A workspace made at the root of a checkout still has no graders/ or .git inside the
    sandbox; validate, which asks for the content, sees the solutions it runs."""
    from mi_exercise import paths
    from mi_exercise.sandbox import content_view, probe

    root = paths.PACKAGE_DIR.parent
    show = ("import os, sys; g = sys.argv[1]; git = os.path.join(os.path.dirname(g), '.git')\n"
            "def full(p): return bool(os.listdir(p)) if os.path.isdir(p) else os.path.exists(p) and os.path.getsize(p) > 0\n"
            "print(len(os.listdir(g)) if os.path.isdir(g) else -1, full(git))")

    def inside(readable):
        run = subprocess.run([*probe().prefix(readable=readable), sys.executable, "-I", "-c", show, str(paths.graders_dir())],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        return run.stdout.split()

    assert inside([root]) == ["0", "False"]
    assert int(inside(content_view())[0]) > 0
