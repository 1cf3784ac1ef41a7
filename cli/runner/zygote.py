"""The warm worker ("zygote"): a process with torch already imported that forks one fresh
worker per check.

Started as `python -I -m mi_exercise.runner.zygote SOCKET_PATH [--lifeline] [--warm=MOD,MOD]
[--listen-fd=N]`. It listens on a Unix socket in a 0700 folder (connections from another user
are refused); with --listen-fd the trusted side bound it and passed it in, so a sandboxed
zygote's workers never see that folder. {"op": "status"} is answered once the imports are
done (ready, and how many workers were forked). Each connection
asks for one worker: a JSON line (cwd, env, preload) plus three file descriptors passed with
SCM_RIGHTS (the worker's end of the request socket, the reply pipe's write end, the output
pipe's write end). The zygote imports anything in `preload` it has not imported yet (so TransformerLens is warm from
the second check on), forks, and answers {"pid": N}. The child starts its own session, points
stdout/stderr at the output pipe, closes every other descriptor, takes the environment and
folder it was given and runs the ordinary worker (wire.py protocol, rlimits set in
Worker.boot before any learner code, CUDA touched only there). When the child ends the zygote
reaps it and sends {"status": waitstatus} on the same connection, because the trusted side is
not the child's parent. A "kill" line on the connection kills the child's process group. The
zygote is a child subreaper: whatever a worker leaves behind (setsid, a double fork) becomes the
zygote's child, and is killed, with everything below it, before the worker's status is sent.

Nothing is ever run in the zygote itself after start-up except imports, so every child starts
from the same clean state.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import socket
import struct
import sys

MAX_FDS = 3


def _child(conn_fds: list[int], fds: list[int], request: dict) -> None:
    """In the forked child: become a fresh worker. Never returns."""
    code = 70
    try:
        os.setsid()
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as in a normal Python process
        req_r, resp_w, out_fd = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        # Only stdin/out/err and the two pipes stay open: not the listening socket, not other
        # connections, not the output pipes of other checks.
        keep = sorted({0, 1, 2, req_r, resp_w})
        start = 3
        for fd in keep:
            if fd >= start:
                os.closerange(start, fd)
                start = fd + 1
        os.closerange(start, 1 << 16)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        from mi_exercise.runner import worker

        worker.main(["worker", str(req_r), str(resp_w)])  # ends with os._exit(0)
        code = 0
    except BaseException:  # noqa: BLE001 - report and leave without running the zygote's code
        try:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(code)


def _recv_request(conn: socket.socket) -> tuple[dict, list[int]]:
    data = b""
    fds: list[int] = []
    while not data.endswith(b"\n"):
        msg, new_fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, MAX_FDS)
        fds += new_fds
        if not msg:
            break
        data += msg
    return json.loads(data.decode()), fds


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass


def serve(path: str, lifeline: bool, warm=(), listen_fd: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the trusted side; it stops us
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    import torch  # noqa: F401 - the point of the zygote: imported once, shared by every child

    for name in warm:  # the check server's zygote: TransformerLens too, before anyone waits on it
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the child imports it again and reports
            pass

    from mi_exercise.runner import wire, worker  # noqa: F401 - the worker's own code, warm too
    from mi_exercise.runner.containment import become_subreaper, kill_strays

    become_subreaper()

    if listen_fd is not None:
        # Bound and listening already, by the trusted side, in a folder this process (sandboxed)
        # cannot see: nothing in here can replace the socket the trusted side connects to.
        listener = socket.socket(fileno=listen_fd)
    else:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path + ".tmp")
        os.chmod(path + ".tmp", 0o600)
        os.replace(path + ".tmp", path)  # the socket appears only once torch is imported
        listener.listen(64)
    children: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    conns: dict[int, int] = {}  # connection fd -> pid, for "kill"
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    if lifeline:
        poller.register(0, select.POLLIN)  # stdin is a pipe from our owner: EOF = owner gone
    by_fd: dict[int, socket.socket] = {}
    uid = os.getuid()
    forks = 0
    while True:
        for fd, _event in poller.poll():
            if fd == 0:
                if not os.read(0, 4096):
                    for pid, _conn in children.values():
                        try:
                            os.killpg(pid, signal.SIGKILL)
                        except OSError:
                            pass
                    kill_strays()
                    return
            elif fd == listener.fileno():
                conn, _ = listener.accept()
                creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
                _pid, peer_uid, _gid = struct.unpack("3i", creds)
                if peer_uid != uid:
                    conn.close()
                    continue
                try:
                    request, fds = _recv_request(conn)
                except (OSError, ValueError):
                    conn.close()
                    continue
                if request.get("op") == "status" and not fds:  # answered only once the imports are done
                    _send(conn, {"ready": True, "forks": forks})
                    conn.close()
                    continue
                if len(fds) != 3:
                    for f in fds:
                        os.close(f)
                    _send(conn, {"error": "expected 3 file descriptors"})
                    conn.close()
                    continue
                error = None
                for name in worker.preload_modules(request.get("preload", [])):
                    try:
                        importlib.import_module(name)  # the child imports it again and reports
                    except Exception as exc:  # noqa: BLE001
                        error = f"{type(exc).__name__}: {exc}"
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    _child([], fds, request)
                for f in fds:
                    os.close(f)  # or the reply pipe would never close when the child dies
                pidfd = os.pidfd_open(pid)
                children[pidfd] = (pid, conn)
                conns[conn.fileno()] = pid
                by_fd[conn.fileno()] = conn
                poller.register(pidfd, select.POLLIN)
                poller.register(conn, select.POLLIN)
                _send(conn, {"pid": pid, "preload_error": error})
                forks += 1
            elif fd in children:
                pid, conn = children.pop(fd)
                poller.unregister(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                kill_strays(spare={p for p, _c in children.values()})  # orphans: not a live worker
                _send(conn, {"status": status})
                if conn.fileno() in conns:
                    poller.unregister(conn)
                    conns.pop(conn.fileno(), None)
                    by_fd.pop(conn.fileno(), None)
                conn.close()
            elif fd in conns:
                conn = by_fd[fd]
                try:
                    data = conn.recv(64)
                except OSError:
                    data = b""
                pid = conns[fd]
                if b"kill" in data or not data:
                    try:
                        os.killpg(pid, signal.SIGKILL)  # not reaped yet: the group is still ours
                    except OSError:
                        pass
                if not data:  # the trusted side hung up: nobody will read the status
                    poller.unregister(fd)
                    conns.pop(fd, None)
                    by_fd.pop(fd, None)


def main(argv: list[str]) -> None:
    warm = [a.split("=", 1)[1] for a in argv[2:] if a.startswith("--warm=")]
    fds = [int(a.split("=", 1)[1]) for a in argv[2:] if a.startswith("--listen-fd=")]
    serve(argv[1], "--lifeline" in argv[2:], [m for m in ",".join(warm).split(",") if m], fds[0] if fds else None)


if __name__ == "__main__":
    main(sys.argv)
