"""Attacks a hostile submission makes from inside the worker (tests/test_sandbox.py splices this
module in front of a correct solution). Each returns True when the attack got through."""

import ctypes
import errno
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

_libc = ctypes.CDLL(None, use_errno=True)


def _here() -> Path:
    return Path(__file__).resolve().parent


def _state_dirs() -> list:
    out = []
    for folder in [_here(), *_here().parents]:
        if (folder / ".mi-exercise").exists():
            out.append(folder / ".mi-exercise")
    return out


def find_solutions() -> bool:
    """Look where a solution can be found from inside: the package's own folder and its parents
    (a checkout's graders/, .git), the package's _content, the folders editable installs map to,
    and every process's cwd and root."""
    import mi_exercise

    places = set()
    pkg = Path(mi_exercise.__file__).resolve().parent
    places.update([pkg, pkg.parent, pkg.parent.parent])
    for entry in sys.path:
        p = Path(entry)
        if p.is_dir():
            for finder in p.glob("__editable__*finder.py"):
                for line in finder.read_text().splitlines():
                    if line.startswith("MAPPING"):
                        for part in line.split("'"):
                            if part.startswith("/"):
                                places.update([Path(part), Path(part).parent])
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            for link in ("cwd", "root"):
                try:
                    places.add(Path(os.readlink(f"/proc/{pid}/{link}")))
                except OSError:
                    pass
    for place in places:
        for name in ("graders", "_content", ".git"):
            if (place / name).exists():
                return True
        try:
            for root, dirs, files in os.walk(place):
                if "solution.py" in files or "site-packages" in root.split(os.sep)[-1:]:
                    if "solution.py" in files:
                        return True
                dirs[:] = [d for d in dirs if d not in ("site-packages", "proc", "sys", "dev", "usr")][:50]
        except OSError:
            pass
    try:
        import importlib.util
        return importlib.util.find_spec("mi_exercise._content") is not None
    except Exception:
        return False


def reach_network(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def plant_file() -> bool:
    for target in (_here() / "planted.txt", _here().parent / "planted.txt", Path("/root/mi-exercise-planted.txt")):
        try:
            target.write_text("x")
            return True
        except OSError:
            pass
    return False


def forge_progress() -> bool:
    """Write passing rows for every exercise into the workspace's progress store."""
    for state in _state_dirs():
        try:
            db = sqlite3.connect(state / "progress.db", timeout=2)
            for i in range(30):
                db.execute("INSERT INTO attempts (exercise, started_at, seconds, device, status, tests_passed,"
                           " tests_total, points, max_points, hints_used, outcomes) VALUES"
                           " (?, '2026-01-01T00:00:00+00:00', 1, 'cpu', 'passed', 1, 1, 1, 1, 0, '[]')", (f"forged-{i}",))
            db.commit()
            return True
        except Exception:
            pass
    return False


def destroy_progress() -> bool:
    import shutil

    for state in _state_dirs():
        shutil.rmtree(state, ignore_errors=True)
        if not state.exists():
            return True
    return False


def proc_escape() -> bool:
    """Reach the host's files through another process's root: the package's checkout, the workspace's state."""
    import mi_exercise

    targets = [str(Path(mi_exercise.__file__).resolve().parent.parent / "graders"),
               *(str(s / "progress.db") for s in _state_dirs()), "/boot", "/home"]
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            for t in targets:
                if os.path.exists(f"/proc/{pid}/root{t}"):
                    return True
    return False


def enter_other_netns() -> bool:
    mine = os.stat("/proc/self/ns/net").st_ino
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino == mine:
                continue
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        except OSError:
            continue
        if _libc.setns(fd, 0) == 0:
            return True
    return False


def make_namespaces() -> bool:
    return _libc.unshare(0x10000000 | 0x40000000) == 0  # CLONE_NEWUSER | CLONE_NEWNET


def see_trusted_side() -> bool:
    """Another process than our own sandbox's is visible (the CLI, pytest, the shell)."""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"pytest" in cmd or b"mi_exercise check" in cmd.replace(b"\0", b" ") or b"grade_one" in cmd:
                return True
    return False


def start_daemon(marker: str) -> None:
    """A setsid + double-fork sleeper that tries to outlive the check."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            try:
                subprocess.Popen([sys.executable, "-c", f"import time; time.sleep(120)  # {marker}"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            finally:
                os._exit(0)
        os._exit(0)
    try:
        os.wait()
    except ChildProcessError:
        pass
