"""`grade`'s job server: the trusted side's imports done once per `grade` run, and a fresh
forked process per submission.

A cold job (`python -m mi_exercise.instructor.grade_one`) imports torch, pytest and the runner
again for every submission: ~2 s of CPU, as much as its worker's own torch import, so on two
cores `--jobs 2` had little left to gain (bench/grade_throughput.py). The server imports them
once; each job is a fork of it that runs `grade_one.main` exactly as the cold process would.
The worker is unchanged: still started cold, sandboxed, per exercise, from the job.

Started as `python -m mi_exercise.instructor.jobserver [--sandbox] [MODULE ...]` (modules to
import besides the runner's: the exercises' `needs`; --sandbox: the jobs sandbox their workers,
so the sandbox's command line is worked out once here), with pipes for stdin and stdout.
Requests are JSON lines on stdin: {"id", "main", "argv", "stdout", "stderr", "timeout"}, a job
that runs as `python -m MAIN ARGV...` would (grade_one for a submission, collect for the graders'
test names); for each ended job one line on stdout: {"id", "status" (a wait status),
"timed_out"}. EOF on stdin (the parent is gone) kills every job and ends the server.

The server itself only imports (and works out the sandbox's command line) and forks: no pytest
session, no torch op (so no OpenMP pool exists to be broken by a fork), no grader, no learner
code, nothing of any submission; every job starts from the same state. A job starts its own
session, writes its output to its own files and closes every other descriptor. The server is a
child subreaper: whatever a job leaves behind when it dies or is killed at its timeout (with its
process group) is killed, sparing the live jobs, before the job's end is reported, so before the
parent writes its result.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

REPLY_MARGIN = 60.0  # past a job's own timeout, how long the parent waits for the server's word

# What a job imports anyway (grade_one, the runner, the graders' own imports; pytest's built-in
# plugins are added in serve); the exercises' `needs` come on the command line.
PRELOAD = (
    "torch", "pytest", "pytest_timeout", "numpy", "einops",
    "mi_exercise.instructor.grade_one", "mi_exercise.instructor.collect", "mi_exercise.instructor.batch",
    "mi_exercise.instructor.submissions", "mi_exercise.catalog.loader", "mi_exercise.runner.check",
    "mi_exercise.runner.plugin", "mi_exercise.runner.warm", "mi_exercise.grading",
    "mi_exercise.feedback.source_rules", "mi_exercise.sandbox",
)


# Imported after the first requests (the collection) have started: only the jobs use them.
LATE = (
    # torch imports it, and sympy (~0.5 s of CPU), at a grader's first backward(gradient)
    "torch.fx.experimental.symbolic_shapes",
)


def _preload(names) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a job that needs it imports it again and reports
            pass


def _child(request: dict) -> None:
    """In the forked job: `python -m MAIN ARGV...` (its module's main(argv)). Never returns."""
    code = 70
    try:
        os.setsid()
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a normal Python process
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        devnull = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.closerange(3, 1 << 16)  # not the server's pipes, not other jobs' pidfds
        sys.stdin = open(os.devnull)  # noqa: SIM115
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        import random

        random.seed()  # as a fresh process would be, not the server's state in every job
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        module = importlib.import_module(request["main"])
        sys.argv = [module.__file__, *request["argv"]]
        code = module.main(sys.argv)
    except BaseException:  # noqa: BLE001 - reported in the job's stderr; no result file
        try:
            import traceback

            traceback.print_exc()
        except Exception:  # noqa: BLE001
            pass
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    os._exit(code if isinstance(code, int) else 1)


def _say(message: dict) -> None:
    try:
        os.write(1, (json.dumps(message) + "\n").encode())
    except OSError:  # the parent is gone: stdin's EOF ends us
        pass


class _Jobs:
    """The forked jobs: started from requests on stdin, reaped, stopped at their deadlines."""

    def __init__(self):
        from mi_exercise.runner.containment import kill_strays

        self.kill_strays = kill_strays
        self.jobs: dict[int, tuple[int, str, float]] = {}  # pidfd -> (pid, request id, deadline)
        self.timed_out: set[int] = set()
        self.poller = select.poll()
        self.poller.register(0, select.POLLIN)
        self.buf = b""

    def step(self, wait: float | None = None) -> bool:
        """Handle what comes within `wait` seconds (None: until the next event or deadline);
        False once the parent is gone (every job is dead by then)."""
        now = time.monotonic()
        for pid, _rid, deadline in self.jobs.values():
            if deadline <= now and pid not in self.timed_out:
                self.timed_out.add(pid)
                try:
                    os.killpg(pid, signal.SIGKILL)  # not reaped yet: the group is still its own
                except OSError:
                    pass
        if wait is None:
            first = min((d for _p, _r, d in self.jobs.values()), default=None)
            wait = None if first is None else max(0.0, first - now)
        for fd, _event in self.poller.poll(None if wait is None else int(wait * 1000) + 1):
            if fd == 0:
                data = os.read(0, 1 << 16)
                if not data:  # the parent is gone: nobody waits for any result
                    for pid, _rid, _d in self.jobs.values():
                        try:
                            os.killpg(pid, signal.SIGKILL)
                        except OSError:
                            pass
                    self.kill_strays()
                    return False
                self.buf += data
                while b"\n" in self.buf:
                    line, self.buf = self.buf.split(b"\n", 1)
                    self.start(json.loads(line))
            elif fd in self.jobs:
                pid, rid, _deadline = self.jobs.pop(fd)
                self.poller.unregister(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                self.kill_strays(spare={p for p, _r, _d in self.jobs.values()})  # its orphans, not a live job
                _say({"id": rid, "status": status, "timed_out": pid in self.timed_out})
                self.timed_out.discard(pid)
        return True

    def start(self, request: dict) -> None:
        pid = os.fork()
        if pid == 0:
            _child(request)
        pidfd = os.pidfd_open(pid)
        self.jobs[pidfd] = (pid, request["id"], time.monotonic() + float(request["timeout"]))
        self.poller.register(pidfd, select.POLLIN)


def serve(preload, sandbox: bool = False) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent; its EOF stops us
    _preload(PRELOAD)
    from _pytest.config import default_plugins

    _preload([*(f"_pytest.{name}" for name in default_plugins), *preload])
    from mi_exercise.runner.containment import become_subreaper

    become_subreaper()
    jobs = _Jobs()
    _say({"ready": True})
    # What is asked already (grade's collection) starts now; what only the submissions' jobs
    # use is imported while it runs.
    if not jobs.step(0):
        return
    _preload(LATE)
    if sandbox:  # the probe's answer (cached by the parent's probe), the interpreter's folders, /etc
        try:
            from mi_exercise.sandbox import probe

            probe().prefix()
        except Exception:  # noqa: BLE001 - each job finds out for itself
            pass
    while jobs.step():
        pass


# -- the parent's side ------------------------------------------------------------------------
class JobServerGone(Exception):
    """The server ended (or stopped answering) before it reported this job: run it cold."""


def available() -> bool:
    """Forked jobs need Linux (a subreaper, pidfds); elsewhere each job starts cold."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open")


class JobServer:
    """`start` it as early as possible (its imports overlap the parent's own collection of the
    graders' tests), then `run` jobs from any number of threads, then `close`."""

    def __init__(self, preload, env: dict, scratch: Path, sandbox: bool = False):
        from mi_exercise.runner.containment import start_job

        self._lock = threading.Lock()
        self._waiting: dict[int, Future] = {}
        self._ids = itertools.count()
        self._gone = False
        self._scratch = Path(scratch)
        with open(self._scratch / "jobserver.err", "wb") as err:  # its own troubles, if any
            self.proc = start_job([sys.executable, "-m", "mi_exercise.instructor.jobserver",
                                   *(["--sandbox"] if sandbox else []), *preload], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        self._reader = threading.Thread(target=self._read, name="jobserver-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for line in self.proc.stdout:
                message = json.loads(line)
                if "id" in message:
                    with self._lock:
                        future = self._waiting.pop(message["id"], None)
                    if future is not None:
                        future.set_result(message)
        except (OSError, ValueError):
            pass
        self._ended()

    def _ended(self) -> None:
        """The server is gone: its jobs (orphans now, our children) die before anyone runs them
        again cold, so no job of it can still write a result."""
        from mi_exercise.runner.containment import end_job

        with self._lock:
            if self._gone:
                return
            self._gone = True
            pending = list(self._waiting.values())
            self._waiting.clear()
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        end_job(self.proc)
        for future in pending:
            future.set_exception(JobServerGone())

    def run(self, main: str, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        """Like containment.run_job for `python -m MAIN ARGV...`: the job is stopped at `timeout`
        (subprocess.TimeoutExpired), and whatever it left behind is dead before this returns.
        JobServerGone: the server could not run it."""
        future: Future = Future()
        rid = next(self._ids)
        out, err = self._scratch / f"job-{rid}.out", self._scratch / f"job-{rid}.err"
        request = {"id": rid, "main": main, "argv": [str(a) for a in argv], "stdout": str(out), "stderr": str(err),
                   "timeout": timeout}
        with self._lock:
            if self._gone:
                raise JobServerGone()
            self._waiting[rid] = future
            try:
                self.proc.stdin.write((json.dumps(request) + "\n").encode())
                self.proc.stdin.flush()
            except OSError:
                self._waiting.pop(rid, None)
                raise JobServerGone() from None
        try:
            message = future.result(timeout + REPLY_MARGIN)
        except FutureTimeout:  # the server itself hangs: stop it (and its jobs)
            self._ended()
            raise JobServerGone() from None
        cmd = [sys.executable, "-m", main, *request["argv"]]
        if message.get("timed_out"):
            raise subprocess.TimeoutExpired(cmd, timeout)
        texts = [p.read_text(errors="replace") if p.exists() else "" for p in (out, err)]
        return subprocess.CompletedProcess(cmd, os.waitstatus_to_exitcode(message["status"]), texts[0], texts[1])

    def close(self) -> None:
        """EOF on its stdin: it kills what is left and ends."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._ended()
        self._reader.join(timeout=5)


if __name__ == "__main__":
    serve([a for a in sys.argv[1:] if a != "--sandbox"], "--sandbox" in sys.argv[1:])
    os._exit(0)  # an interpreter teardown with torch loaded costs ~0.5 s, waited for by grade
