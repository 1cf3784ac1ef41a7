"""The trusted side of the warm worker (see zygote.py): a pool that hands out WorkerProcesses
forked from a zygote instead of started cold.

A WarmWorkerProcess is an ordinary WorkerProcess (same pipes, same wire.py protocol, same
output pipe, same limits, kill and end classification); only its launch differs: the request
socket, reply pipe and output pipe ends travel to the zygote with SCM_RIGHTS and it forks the worker.
Its `proc` is a WarmChild: a Popen look-alike whose exit status arrives over the connection,
because the zygote, not us, is the worker's parent.

Where a pool comes from: `WarmPool.start()` starts a zygote that dies with its starter: watch
mode's and validate's private one, and the check server's (mi_exercise.server), whose forked
trusted children `use` it.
A pool is sandboxed or not, as a whole: a sandboxed zygote is itself started inside bwrap
(mi_exercise.sandbox) with the folders it may read bound in and its socket's folder writable,
so every worker it forks is inside the same sandbox, seccomp filter included. A check takes a
warm worker only from a pool that matches it: unsandboxed with unsandboxed, sandboxed with a
sandboxed pool whose bound folders hold the learner's file; otherwise it starts cold.
Inside the sandbox the zygote is PID 1 of its own PID namespace, so the pid it reports for a
child means nothing here: the child's pid in our namespace is looked up from /proc (NSpid).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mi_exercise.runner.proxy import WorkerConfig, WorkerProcess, worker_env

START_SECONDS = 120.0


# A pid no process can have (pid_max is at most 2**22): the worker's pid when it cannot be found
# in our namespace, so that a kill by process group fails with ESRCH and goes over the connection.
NO_PID = 2**22 + 1


def host_pid(zygote_pid: int, inner_pid: int) -> int:
    """The pid in our namespace of the zygote's child whose pid in its own namespace is
    `inner_pid` (the last NSpid field), or NO_PID."""
    try:
        children = Path(f"/proc/{zygote_pid}/task/{zygote_pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        try:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("NSpid:") and int(line.split()[-1]) == inner_pid:
                    return int(child)
        except (OSError, ValueError):
            continue
    return NO_PID


class WarmChild:
    """A forked worker as the trusted side sees it: pid, poll(), wait(), kill() like Popen."""

    def __init__(self, conn: socket.socket, pid: int):
        self.conn = conn
        self.pid = pid
        self.returncode: int | None = None
        self.ended = False
        self._buf = b""

    def _take(self, timeout: float | None) -> None:
        if self.ended:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ended:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.conn], [], [], left)
            if not ready:
                return
            try:
                data = self.conn.recv(4096)
            except OSError:
                data = b""
            if not data:  # the zygote went away without telling us
                self.ended = True
                self.conn.close()
                return
            self._buf += data
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                message = json.loads(line)
                if "status" in message:
                    self.returncode = os.waitstatus_to_exitcode(message["status"])
                    self.ended = True
                    self.conn.close()
                    return
            if deadline is not None and time.monotonic() >= deadline:
                return

    def poll(self) -> int | None:
        self._take(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        self._take(timeout)
        if not self.ended:
            raise subprocess.TimeoutExpired(f"warm worker {self.pid}", timeout)
        return self.returncode

    def kill(self) -> None:
        if not self.ended:
            try:
                self.conn.sendall(b"kill\n")
            except OSError:
                pass


class WarmWorkerProcess(WorkerProcess):
    def __init__(self, config: WorkerConfig, pool: "WarmPool"):
        self._pool = pool
        super().__init__(config)

    def _launch(self, req_r: int, resp_w: int) -> WarmChild:
        return self._pool._fork(self.config, [req_r, resp_w, self.out_w])  # request socket, reply pipe, output pipe


class WarmPool:
    """A zygote to fork workers from: owned (started by us, dies with us) or a daemon's."""

    def __init__(self, socket_path: Path, proc: subprocess.Popen | None = None, tmpdir: str | None = None,
                 sandboxed: bool = False, readable=(), hidden=()):
        self.socket_path = Path(socket_path)
        self.proc = proc
        self._tmpdir = tmpdir
        self.forks = 0
        self.fallbacks = 0
        self.sandboxed = sandboxed
        self.readable = [Path(p) for p in readable]  # what a sandboxed zygote's workers can read
        self.hidden = [Path(p) for p in hidden]

    # -- starting ---------------------------------------------------------------------------
    @classmethod
    def start(cls, *, detached: bool = False, socket_dir: str | None = None, sandbox=None,
              readable=(), hidden=(), warm=()) -> "WarmPool":
        """Start a zygote. Attached (default): it exits when this process does (its stdin is a
        pipe from us). Detached: a daemon that lives until `stop()`/SIGTERM. With `sandbox` (a
        mi_exercise.sandbox.Sandbox) the zygote runs inside it, `readable` bound read-only."""
        tmpdir = socket_dir or tempfile.mkdtemp(prefix="mi-ex-")  # mode 0700: only we connect
        path = Path(tmpdir) / "zygote.sock"
        cmd = [sys.executable, "-I", "-m", "mi_exercise.runner.zygote", str(path)]
        if not detached:
            cmd.append("--lifeline")
        if warm:  # modules to import before the socket appears (the check server's TransformerLens)
            cmd.append("--warm=" + ",".join(warm))
        readable = [Path(p).resolve() for p in readable]
        hidden = [Path(p).resolve() for p in hidden]
        # We bind the socket and hand the zygote the listening descriptor: its folder is bound
        # into no sandbox, so no worker can put another socket where we connect.
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(path))
            os.chmod(path, 0o600)
            listener.listen(64)
            cmd.append(f"--listen-fd={listener.fileno()}")
            if sandbox is not None:
                cmd = [*sandbox.prefix(readable=readable, hidden=hidden, die_with_parent=not detached), *cmd]
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL if detached else subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env=worker_env(), cwd=tmpdir, pass_fds=(listener.fileno(),),
                                    start_new_session=True)  # Ctrl-C is ours to handle, not the zygote's
        except BaseException:
            if not socket_dir:
                shutil.rmtree(tmpdir, ignore_errors=True)
            raise
        finally:
            listener.close()
        if sandbox is not None:  # what its workers cannot see includes what is hidden by default
            hidden = sandbox.hidden_for(readable, hidden)
        return cls(path, proc, tmpdir, sandboxed=sandbox is not None, readable=readable, hidden=hidden)

    def borrowed(self) -> "WarmPool":
        """This pool as another process (a check server's forked child) uses it: the zygote is
        not its child to poll, nor its to stop."""
        return WarmPool(self.socket_path, sandboxed=self.sandboxed, readable=self.readable, hidden=self.hidden)

    def accepts(self, config: WorkerConfig) -> bool:
        """Whether a worker for `config` may come from this pool: the same sandboxing, and for a
        sandboxed pool, the learner's file among what its workers can read."""
        if not config.sandbox:
            return not self.sandboxed
        if not self.sandboxed:
            return False
        f = Path(config.learner_file).resolve()
        shown = [r for r in self.readable if f.is_relative_to(r)]
        return bool(shown) and not any(f.is_relative_to(h) and not any(r.is_relative_to(h) for r in shown)
                                       for h in self.hidden)

    def _status(self, timeout: float) -> dict | None:
        """The zygote's answer to {"op": "status"}: given only once its imports are done."""
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.settimeout(timeout)
            conn.connect(str(self.socket_path))
            conn.sendall(b'{"op": "status"}\n')
            buf = b""
            while b"\n" not in buf:
                data = conn.recv(4096)
                if not data:
                    return None
                buf += data
            return json.loads(buf.split(b"\n", 1)[0])
        except (OSError, ValueError):
            return None
        finally:
            conn.close()

    def wait_ready(self, timeout: float = START_SECONDS) -> bool:
        if getattr(self, "_ready", False):
            return True
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self.socket_path.exists() and self._status(min(left, 5.0)) is not None:
                self._ready = True
                return True
            time.sleep(0.02)

    @property
    def forked(self) -> int:
        """How many workers the zygote has forked (0 when it does not answer)."""
        answer = self._status(2.0)
        return int(answer.get("forks", 0)) if answer else 0

    @property
    def running(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            return False
        return self.socket_path.exists()

    # -- forking ----------------------------------------------------------------------------
    def _fork(self, config: WorkerConfig, fds: list[int]) -> WarmChild:
        if not self.wait_ready():
            raise OSError("the warm worker did not start")
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(str(self.socket_path))
            request = {"cwd": str(config.learner_file.parent), "env": worker_env(),
                       "preload": list(config.preload)}
            socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], fds)
            buf = b""
            while b"\n" not in buf:
                ready, _, _ = select.select([conn], [], [], START_SECONDS)
                data = conn.recv(4096) if ready else b""
                if not data:
                    raise OSError("the warm worker did not answer")
                buf += data
            line, rest = buf.split(b"\n", 1)
            reply = json.loads(line)
            if "pid" not in reply:
                raise OSError(reply.get("error", "the warm worker refused"))
        except BaseException:
            conn.close()
            raise
        pid = reply["pid"]
        if self.sandboxed:  # the zygote's pid namespace is not ours
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            pid = host_pid(struct.unpack("3i", creds)[0], int(pid))
        child = WarmChild(conn, pid)
        child._buf = rest
        self.forks += 1
        return child

    def spawn(self, config: WorkerConfig) -> WorkerProcess:
        """A worker for one check: forked warm, or started cold when that cannot be done."""
        if self.accepts(config):
            try:
                return WarmWorkerProcess(config, self)
            except OSError:
                pass
        self.fallbacks += 1
        return WorkerProcess(config)

    __call__ = spawn

    # -- stopping ---------------------------------------------------------------------------
    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> "WarmPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- the pool checks use --------------------------------------------------------------------
_current: WarmPool | None = None


def use(pool: WarmPool | None) -> None:
    """Make `pool` the spawner of every run_check in this process (None: back to the default)."""
    global _current
    _current = pool


def current() -> WarmPool | None:
    return _current


def start_in_process(sandbox=None, readable=(), hidden=()) -> WarmPool:
    """Start a private zygote (inside `sandbox` when given) and use it for every check in this
    process until it exits."""
    pool = WarmPool.start(sandbox=sandbox, readable=readable, hidden=hidden)
    use(pool)
    return pool


def spawner_for(learner_file: Path):
    """The spawner a check of `learner_file` should use: this process's pool (watch, validate, a
    check server's child), else None (start cold). `learner_file` is for a pool's `accepts`."""
    return _current
