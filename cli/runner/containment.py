"""Nothing a check starts outlives it, even without a sandbox.

A process that leaves the worker's process group (setsid, a double fork) escapes `killpg`. So
the trusted process becomes a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`): every orphan
below it is re-parented to it instead of to init, and `kill_strays` SIGKILLs all of them (and
what they started) before a verdict is kept or a result written. The zygote does the same for
the workers it forks; `grade` for its per-submission jobs.

Elsewhere (macOS) there is no subreaper: what escapes the process group survives, and only a
sandbox contains it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36
KILL_SECONDS = 5.0  # a fork bomb still loses: each round kills what the last one left


def become_subreaper() -> bool:
    """Make orphans below this process its children; False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _scan_children() -> dict[int, list[int]]:
    """Parent pid -> child pids of every process, from /proc/*/stat (zombies included)."""
    tree: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return tree
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()  # after "pid (comm) ": state, ppid, ...
        if len(fields) > 1:
            tree.setdefault(int(fields[1]), []).append(int(name))
    return tree


def _children(pid: int, tree: dict | None) -> list[int]:
    """The children of `pid`: from /proc/PID/task/*/children (cheap: only our subtree is read),
    or from a scan of every process where the kernel has no such file."""
    if tree is not None:
        return tree.get(pid, [])
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except FileNotFoundError:
        if not os.path.exists(f"/proc/{pid}"):
            return []
        raise _NoChildrenFile() from None
    except (OSError, ValueError):
        return out
    return out


class _NoChildrenFile(Exception):
    pass


def direct_children() -> set[int]:
    try:
        return set(_children(os.getpid(), None))
    except _NoChildrenFile:
        return set(_scan_children().get(os.getpid(), []))


def _strays(spare: set[int]) -> tuple[list[int], set[int]]:
    """(every descendant not spared and not below a spared one, our own children among them)."""
    try:
        return _walk(spare, None)
    except _NoChildrenFile:
        return _walk(spare, _scan_children())


def _walk(spare: set[int], tree: dict | None) -> tuple[list[int], set[int]]:
    mine = {p for p in _children(os.getpid(), tree) if p not in spare}
    out, todo = [], list(mine)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += [c for c in _children(pid, tree) if c not in spare]
    return out, mine


def kill_strays(spare=()) -> int:
    """SIGKILL every descendant of this process except `spare` (pids) and what is below them,
    reap the ones that are our children, and repeat until none is left (at most KILL_SECONDS).
    Returns how many processes were killed."""
    spare = set(spare)
    killed: set[int] = set()
    deadline = time.monotonic() + KILL_SECONDS
    while True:
        pids, mine = _strays(spare)
        if not pids or time.monotonic() > deadline:
            return len(killed)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        killed.update(pids)
        for pid in mine:
            try:
                os.waitpid(pid, os.WNOHANG)  # a killed child stays a zombie (and listed) until reaped
            except ChildProcessError:
                pass
        time.sleep(0.002)


class Containment:
    """For one check or job: makes this process a subreaper and remembers the children it had
    before, which `kill_strays` spares (a warm pool's zygote, a test's own processes)."""

    def __init__(self):
        self.subreaper = become_subreaper()
        self.before = direct_children() if self.subreaper else set()

    def kill_strays(self, spare=()) -> int:
        if not self.subreaper:
            return 0
        with _JOBS_LOCK:
            return kill_strays(self.before | set(spare) | _LIVE_JOBS)


# -- grade's per-submission jobs, run from threads --------------------------------------------
_JOBS_LOCK = threading.Lock()  # held from fork to registration, so no sweep takes a new job for a stray
_LIVE_JOBS: set[int] = set()


_jobs_containment: Containment | None = None


def _jobs() -> Containment:
    global _jobs_containment
    with _JOBS_LOCK:
        if _jobs_containment is None:
            _jobs_containment = Containment()
        return _jobs_containment


def start_job(cmd: list[str], **popen) -> subprocess.Popen:
    """Start a long-lived job of a batch (`grade`'s job server, which forks the per-submission
    jobs): this process becomes a subreaper, and other jobs' sweeps spare it and what is below it
    until `end_job`."""
    _jobs()
    with _JOBS_LOCK:
        proc = subprocess.Popen(cmd, start_new_session=True, **popen)
        _LIVE_JOBS.add(proc.pid)
    return proc


def end_job(proc: subprocess.Popen) -> None:
    """After `proc` (from start_job) ended: kill whatever it left behind (a job server's jobs)."""
    with _JOBS_LOCK:
        _LIVE_JOBS.discard(proc.pid)
    _jobs().kill_strays()


def run_job(cmd: list[str], *, timeout: float, **popen) -> subprocess.CompletedProcess:
    """subprocess.run(cmd, capture_output=True, text=True, timeout=...) for one job of a batch
    (`grade`'s per-submission jobs, from several threads): this process becomes a subreaper at
    the first job, and when a job ends (or is stopped at its timeout, its process group with it)
    whatever it left behind is killed before this returns, so before its result is written. Its
    output goes to files, not pipes, so a straggler holding them open cannot make us wait."""
    import tempfile

    containment = _jobs()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        with _JOBS_LOCK:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True, **popen)
            _LIVE_JOBS.add(proc.pid)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                proc.kill()
            proc.wait()
        finally:
            with _JOBS_LOCK:
                _LIVE_JOBS.discard(proc.pid)
            containment.kill_strays()
        if timed_out:
            raise subprocess.TimeoutExpired(cmd, timeout)
        texts = []
        for fh in (out, err):
            fh.seek(0)
            texts.append(fh.read().decode("utf-8", "replace"))
        return subprocess.CompletedProcess(cmd, proc.returncode, texts[0], texts[1])
