"""The check server: `python -m mi_exercise.server.daemon STATE_DIR` (started by client.py).

It holds the workspace's server lock for its life (a second server exits at once), imports
what checks need (torch, pytest, the CLI, the graders' own imports, TransformerLens where an
exercise needs it), starts a warm worker zygote sandboxed as `check` would be, and only then
creates its socket (0600, in the workspace's state folder, which the sandbox hides). It never
imports learner code, and never runs a grader or a reference itself: each command is run by a
freshly forked trusted child, which takes the client's terminal, folder, environment and
argv and runs the ordinary CLI, so no state survives from one command to the next and a crash
there ends only that command.

It stops after MI_EXERCISE_SERVER_IDLE seconds (15 minutes) without a command, on
`mi-exercise server stop` or SIGTERM, and when its package or content changed (the request
that finds out is refused and runs cold; the next check starts a fresh server).
"""

from __future__ import annotations

import ast
import fcntl
import importlib
import json
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mi_exercise.server import protocol

STOP_GRACE = 5.0  # a command asked to stop (Ctrl-C, server stop) gets this long before SIGKILL
REQUEST_SECONDS = 2.0  # a client that connects and says nothing is dropped


@dataclass
class Running:
    pid: int
    conn: socket.socket
    pidfd: int
    argv: list
    started: float
    interrupted_at: float | None = None


def warm_modules(catalog) -> list[str]:
    """What the trusted side of a check imports: the CLI's own modules, and every module the
    graders and reference solutions import at their top (never a learner's module)."""
    names = ["torch", "einops", "pytest", "pytest_timeout", "rich.console", "rich.table", "click", "sqlite3",
             "mi_exercise.commands", "mi_exercise.runner.check", "mi_exercise.runner.plugin",
             "mi_exercise.runner.watch", "mi_exercise.runner.warm", "mi_exercise.feedback.report",
             "mi_exercise.feedback.source_rules", "mi_exercise.progress.store", "mi_exercise.progress.report",
             "mi_exercise.site_builder.learner_results", "mi_exercise.grading", "mi_exercise.validate",
             "mi_exercise.instructor.batch"]
    from mi_exercise.runner.worker import preload_modules

    learner_modules = {ex.module_name for ex in catalog.exercises}
    for ex in catalog.exercises:
        names += preload_modules(ex.needs)
        for path in [*ex.grader_files, ex.solution_path]:
            try:
                tree = ast.parse(Path(path).read_text(encoding="utf-8"))
            except (OSError, SyntaxError, ValueError):
                continue
            for node in tree.body:
                if isinstance(node, ast.Import):
                    names += [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.append(node.module)
    out = []
    for name in names:
        if name.split(".")[0] in learner_modules or name in out:
            continue
        out.append(name)
    return out


def import_all(names) -> list[str]:
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a grader's import that fails here fails in its check, said there
            failed.append(name)
    return failed


def fingerprint() -> str:
    """What the server's imports were read from: the package, the course content and the
    libraries it imported, as (path, size, mtime). A change means a stale server."""
    import hashlib

    import mi_exercise
    from mi_exercise import paths

    roots = [Path(mi_exercise.__file__).resolve().parent]
    root = paths.content_root()
    roots += [d for d in (paths.exercises_dir(root), paths.graders_dir(root), paths.templates_dir(root),
                          paths.site_assets_dir(root)) if not d.resolve().is_relative_to(roots[0])]
    digest = hashlib.sha256()
    for top in roots:
        digest.update(f"{top}\n".encode())
        paths.stamp_tree(digest, top, skip_suffixes=(".pyc", ".tmp"))
    for module in ("torch", "transformer_lens", "pytest", "einops", "click", "rich"):
        mod = sys.modules.get(module)
        for f in (getattr(mod, "__file__", None), getattr(sys.modules.get(module + ".version"), "__file__", None)):
            if f:
                try:
                    st = os.stat(f)
                    digest.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
                except OSError:
                    pass
    return digest.hexdigest()[:16]


class Server:
    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir).resolve()
        self.socket_path = self.state_dir / protocol.SOCKET
        self.idle = protocol.idle_seconds()
        self.env_key = protocol.env_key(os.environ, sys.executable)
        self.executable = os.path.realpath(sys.executable)
        self.lock_fd: int | None = None
        self.listener: socket.socket | None = None
        self.socket_ino: int | None = None
        self.pool = None
        self.fingerprint = ""
        self.started = time.time()
        self.last_active = time.monotonic()
        self.served = 0
        self.running: dict[int, Running] = {}  # pidfd -> command
        self.by_conn: dict[int, Running] = {}  # connection fd -> command
        self.stopping = False
        self.stale = ""
        self.warm_failed: list[str] = []

    # -- start-up ---------------------------------------------------------------------------
    def take_lock(self) -> bool:
        fd = os.open(self.state_dir / protocol.LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.lock_fd = fd
        return True

    def release_lock(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None

    def warm_up(self) -> None:
        from mi_exercise.catalog.loader import load_catalog
        from mi_exercise.runner.containment import become_subreaper

        become_subreaper()  # what a crashed command leaves behind is ours to kill
        catalog = load_catalog()
        modules = warm_modules(catalog)
        self.pool = self.start_zygote(modules)
        self.warm_failed = import_all(modules)
        self.fingerprint = fingerprint()

    def start_zygote(self, modules):
        """The warm worker for this workspace's checks, sandboxed as `check` runs by default."""
        from mi_exercise.runner.warm import WarmPool
        from mi_exercise.sandbox import choose, mode_from_flags, workspace_view

        try:  # as a check with neither --sandbox nor --no-sandbox: MI_EXERCISE_SANDBOX=off counts
            box, _why = choose(mode_from_flags(None))
        except Exception:  # noqa: BLE001 - no sandbox: checks that ask for one start cold
            box = None
        readable, hidden = workspace_view(self.state_dir.parent)
        warm = [m for m in modules if m.split(".")[0] in ("torch", "einops", "transformer_lens")]
        try:
            pool = WarmPool.start(sandbox=box, readable=readable if box else (), hidden=hidden if box else (),
                                  warm=warm)
        except OSError:
            return None
        return pool

    def listen(self) -> None:
        tmp = self.state_dir / f"{protocol.SOCKET}.{os.getpid()}"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with protocol.Address(tmp) as address:
            old = os.umask(0o177)
            try:
                listener.bind(address.text)
            finally:
                os.umask(old)
        os.chmod(tmp, 0o600)
        listener.listen(64)
        os.replace(tmp, self.socket_path)  # appears only now: a client never waits on a cold server
        self.socket_ino = self.socket_path.lstat().st_ino
        self.last_active = time.monotonic()  # idle from now, not from before the imports
        self.listener = listener
        self.write_state()

    def write_state(self) -> None:
        from mi_exercise import __version__

        state = {"pid": os.getpid(), "started": self.started, "version": __version__,
                 "sandboxed": bool(self.pool and self.pool.sandboxed), "idle_seconds": self.idle}
        tmp = self.state_dir / f"{protocol.STATE}.{os.getpid()}"
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.state_dir / protocol.STATE)

    # -- the loop ---------------------------------------------------------------------------
    def serve(self) -> None:
        poller = select.poll()
        poller.register(self.listener, select.POLLIN)
        self.poller = poller
        while True:
            now = time.monotonic()
            if not self.running:
                if self.stopping or self.stale or now - self.last_active >= self.idle:
                    return
                timeout = min(self.idle - (now - self.last_active), 1.0)
            else:
                timeout = 0.5
            for fd, _event in poller.poll(max(timeout, 0.0) * 1000):
                if self.listener is not None and fd == self.listener.fileno():
                    self.accept()
                elif fd in self.running:
                    self.reap(self.running[fd])
                elif fd in self.by_conn:
                    self.from_client(self.by_conn[fd])
            self.enforce_stops()

    def accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        try:
            _pid, uid = protocol.peer(conn)
            if uid != os.getuid():  # the socket is 0600; this is the second lock on the door
                conn.close()
                return
            conn.settimeout(REQUEST_SECONDS)
            lines = protocol.Lines(conn)
            request = None
            while request is None:
                if not lines.feed(max_fds=3):
                    break
                request = lines.take()
        except (OSError, ValueError):
            request = None
            lines = None
        fds = lines.fds if lines is not None else []
        try:
            if not isinstance(request, dict):
                raise ValueError("not a request")
            self.handle(conn, request, fds)
        except (OSError, ValueError, KeyError, TypeError):
            for fd in fds:
                os.close(fd)
            conn.close()

    def handle(self, conn: socket.socket, request: dict, fds: list[int]) -> None:
        op = request.get("op")
        if op == "status":  # asking is not using: a status loop does not keep a server alive
            protocol.send(conn, self.status())
            conn.close()
            return
        if op == "stop":
            protocol.send(conn, {"stopping": True, "running": len(self.running)})
            conn.close()
            self.begin_stop()
            return
        if op != "run":
            raise ValueError(f"unknown op {op!r}")
        why = self.refusal(request, fds)
        if why:
            for fd in fds:
                os.close(fd)
            protocol.send(conn, {"refused": why})
            conn.close()
            return
        self.last_active = time.monotonic()
        self.launch(conn, request, fds)

    def refusal(self, request: dict, fds: list[int]) -> str:
        if len(fds) != 3:
            return "a command needs its three standard descriptors"
        if self.stopping or self.stale:
            return "the server is stopping"
        if os.path.realpath(str(request.get("executable", ""))) != self.executable:
            return "another interpreter"
        if protocol.env_key(request.get("env") or {}, request.get("executable", "")) != self.env_key:
            return "another environment"
        if not isinstance(request.get("argv"), list) or not isinstance(request.get("cwd"), str):
            return "a malformed request"
        now = fingerprint()
        if now != self.fingerprint:
            self.go_stale("the package or the course content changed")
            return "stale: " + self.stale
        return ""

    def launch(self, conn: socket.socket, request: dict, fds: list[int]) -> None:
        pid = os.fork()
        if pid == 0:
            self.in_child(conn, request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        job = Running(pid, conn, pidfd, request["argv"], time.monotonic())
        self.running[pidfd] = job
        self.by_conn[conn.fileno()] = job
        self.poller.register(pidfd, select.POLLIN)
        conn.setblocking(False)
        self.poller.register(conn, select.POLLIN)
        self.served += 1
        try:
            protocol.send(conn, {"started": pid})
        except OSError:
            pass

    def in_child(self, conn: socket.socket, request: dict, fds: list[int]) -> None:
        """The forked trusted child: become the command, run it as a cold CLI would, exit."""
        code = 70
        try:
            os.setpgid(0, 0)  # Ctrl-C and stop reach this command's group only
            for sock in [self.listener, conn, *(job.conn for job in self.by_conn.values())]:
                os.close(sock.detach())  # detached: the objects never close a reused number later
            for pidfd in self.running:
                os.close(pidfd)
            self.release_lock()
            if self.pool is not None and self.pool.proc is not None and self.pool.proc.stdin is not None:
                self.pool.proc.stdin.close()  # the zygote's lifeline is the server's, not ours
            signal.signal(signal.SIGINT, signal.default_int_handler)
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            os.chdir(request["cwd"])
            os.umask(int(request.get("umask", 0o022)))
            os.environ.clear()
            os.environ.update({str(k): str(v) for k, v in (request.get("env") or {}).items()})
            encodings = request.get("encodings") or ["utf-8"] * 3
            sys.stdin = open(0, "r", encoding=encodings[0], closefd=False)
            sys.stdout = open(1, "w", encoding=encodings[1], buffering=1 if os.isatty(1) else -1, closefd=False)
            sys.stderr = open(2, "w", encoding=encodings[2], buffering=1, closefd=False)
            sys.argv = [str(a) for a in request["argv"]]
            from mi_exercise.runner import warm

            warm.use(self.pool.borrowed() if self.pool is not None else None)  # workers fork from the server's zygote
            from mi_exercise import launch

            launch.IN_SERVER = True
            code = launch.run_cli()
        except BaseException:  # noqa: BLE001 - report, never fall back into the server's loop
            try:
                import traceback

                traceback.print_exc()
            except Exception:  # noqa: BLE001
                pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)

    def reap(self, job: Running) -> None:
        from mi_exercise.runner.containment import kill_strays

        self.poller.unregister(job.pidfd)
        self.running.pop(job.pidfd, None)
        os.close(job.pidfd)
        try:  # before the reap: the group's id cannot be anyone else's while its leader is a zombie
            os.killpg(job.pid, signal.SIGKILL)  # whatever stayed in the command's group
        except OSError:
            pass
        try:
            _, status = os.waitpid(job.pid, 0)
        except ChildProcessError:
            status = 0
        kill_strays(spare=self.spared())  # and whatever left it: dead before the client hears
        self.forget_conn(job)
        message = ({"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status)
                   else {"exit": os.waitstatus_to_exitcode(status)})
        try:
            job.conn.setblocking(True)
            job.conn.settimeout(1.0)
            protocol.send(job.conn, message)
        except OSError:
            pass
        job.conn.close()
        self.last_active = time.monotonic()

    def spared(self) -> set[int]:
        spare = {job.pid for job in self.running.values()}
        if self.pool is not None and self.pool.proc is not None:
            spare.add(self.pool.proc.pid)
        return spare

    def forget_conn(self, job: Running) -> None:
        fd = job.conn.fileno()
        if self.by_conn.pop(fd, None) is not None:
            try:
                self.poller.unregister(fd)
            except (KeyError, ValueError):
                pass

    def from_client(self, job: Running) -> None:
        lines = protocol.Lines(job.conn)
        alive = lines.feed()
        words = []
        while (line := lines.take()) is not None:
            words.append(line.get("op") if isinstance(line, dict) else line)
        if "kill" in words or not alive:  # the client hung up: nobody is left to read the command's output
            self.signal_job(job, signal.SIGKILL)
            if not alive:
                self.forget_conn(job)
        elif "int" in words:
            self.signal_job(job, signal.SIGINT)
            job.interrupted_at = time.monotonic()

    @staticmethod
    def signal_job(job: Running, sig: int) -> None:
        try:
            os.killpg(job.pid, sig)
        except OSError:
            pass

    def enforce_stops(self) -> None:
        now = time.monotonic()
        for job in list(self.running.values()):
            if job.interrupted_at is not None and now - job.interrupted_at > STOP_GRACE:
                self.signal_job(job, signal.SIGKILL)

    # -- stopping ---------------------------------------------------------------------------
    def begin_stop(self) -> None:
        self.stopping = True
        self.close_listener()
        for job in self.running.values():
            self.signal_job(job, signal.SIGINT)
            job.interrupted_at = job.interrupted_at or time.monotonic()

    def go_stale(self, why: str) -> None:
        """Stop taking commands and let the next check start a fresh server; the commands that
        run finish first."""
        self.stale = why
        self.close_listener()
        self.release_lock()

    def close_listener(self) -> None:
        if self.listener is None:
            return
        try:
            self.poller.unregister(self.listener)
        except (KeyError, ValueError, AttributeError):
            pass
        self.listener.close()
        self.listener = None
        try:  # only our own socket: a fresh server may already have put its own there
            if self.socket_path.lstat().st_ino == self.socket_ino:
                self.socket_path.unlink()
        except OSError:
            pass
        try:
            state = json.loads((self.state_dir / protocol.STATE).read_text())
            if state.get("pid") == os.getpid():
                (self.state_dir / protocol.STATE).unlink()
        except (OSError, ValueError):
            pass

    def shutdown(self) -> None:
        for job in list(self.running.values()):
            self.signal_job(job, signal.SIGKILL)
        self.close_listener()
        if self.pool is not None:
            self.pool.close()
        from mi_exercise.runner.containment import kill_strays

        kill_strays()
        self.release_lock()

    def status(self) -> dict:
        return {"pid": os.getpid(), "started": self.started, "uptime_s": round(time.time() - self.started, 1),
                "served": self.served, "running": [j.argv[1:] for j in self.running.values()],
                "idle_s": round(time.monotonic() - self.last_active, 1), "idle_limit_s": self.idle,
                "sandboxed": bool(self.pool and self.pool.sandboxed), "zygote": self.pool is not None,
                "forks": self.pool.forked if self.pool is not None else 0,
                "fingerprint": self.fingerprint, "warm_failed": self.warm_failed}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m mi_exercise.server.daemon STATE_DIR", file=sys.stderr)
        return 2
    # never let a module in the folder we were started from (a learner's?) be importable
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    server = Server(Path(argv[1]))
    if not server.take_lock():
        return 0  # another server runs or starts for this workspace
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: server.begin_stop())
    try:
        server.warm_up()
        server.listen()
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} server {os.getpid()} ready in "
              f"{time.time() - server.started:.1f} s", file=sys.stderr, flush=True)
        server.serve()
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stderr.flush()
    os._exit(code)  # no interpreter teardown with torch loaded
