"""`--sandbox`: run the worker under bubblewrap (bwrap).

Inside the sandbox learner code has no network (its own empty network namespace), sees the
whole file system read-only, can write only to a private /tmp, and cannot see the graders and
solutions (an empty tmpfs is mounted over each grader folder) nor any other folder named in
`hide` (the class's submissions, the results folder). The worker's request/response pipes and
its output file are inherited file descriptors, which bwrap passes through unchanged.

There is no fallback: without a working bwrap, `sandbox_prefix` raises SandboxUnavailable and
the caller refuses to grade.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
from pathlib import Path

from mi_exercise import paths


class SandboxUnavailable(Exception):
    pass


def find_bwrap() -> str:
    exe = shutil.which("bwrap")
    if exe is None:
        raise SandboxUnavailable(
            "--sandbox needs bubblewrap (`bwrap`), which is not installed here. Install it "
            "(Debian/Ubuntu: `apt-get install -y bubblewrap`) or grade without --sandbox on a machine "
            "you trust; mi-exercise never falls back to grading unsandboxed.")
    probe = subprocess.run([exe, "--ro-bind", "/", "/", "--unshare-net", "--", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"--sandbox: bwrap is installed ({exe}) but cannot create a sandbox here: "
            f"{probe.stderr.strip() or 'exit status ' + str(probe.returncode)} (user namespaces may be "
            "disabled; on Ubuntu 24.04 see kernel.apparmor_restrict_unprivileged_userns)")
    return exe


def grader_folders() -> list[Path]:
    """Every folder that may hold graders or solutions: the active content root's, the checkout's
    and the installed package's."""
    candidates = [paths.graders_dir(), paths.PACKAGE_DIR.parent / "graders", paths.PACKAGE_DIR / "_content" / "graders"]
    seen, out = set(), []
    for c in candidates:
        c = c.resolve()
        if c.is_dir() and c not in seen:
            seen.add(c)
            out.append(c)
    return out


def sandbox_prefix(learner_dir: Path | None = None, hide: list[Path] | tuple = ()) -> list[str]:
    """The bwrap command prefix for one worker. `learner_dir` is bound read-only (it may sit
    under /tmp, which the sandbox replaces by an empty private tmpfs)."""
    exe = find_bwrap()
    cmd = [exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
           "--tmpfs", "/tmp", "--tmpfs", "/var/tmp", "--tmpfs", "/dev/shm",
           "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
           "--setenv", "TMPDIR", "/tmp", "--setenv", "HOME", "/tmp"]
    # The interpreter, its venv and this package stay readable even when they live under /tmp
    # (a CI clone with its .venv there); grader folders are hidden after, so they stay hidden.
    for keep in dict.fromkeys(Path(p).resolve() for p in (sys.base_prefix, sys.prefix, paths.PACKAGE_DIR)):
        if keep.is_dir():
            cmd += ["--ro-bind", str(keep), str(keep)]
    for dev in sorted(glob.glob("/dev/nvidia*")):  # a GPU stays usable when there is one
        cmd += ["--dev-bind", dev, dev]
    for folder in [*grader_folders(), *(Path(h).resolve() for h in hide)]:
        if folder.is_dir():
            cmd += ["--tmpfs", str(folder)]
        elif folder.exists():
            cmd += ["--ro-bind", "/dev/null", str(folder)]
    if learner_dir is not None:
        learner_dir = Path(learner_dir).resolve()
        cmd += ["--ro-bind", str(learner_dir), str(learner_dir)]
    return [*cmd, "--"]
