"""The client side of the check server: hand a command to the workspace's server, or say why not.

Standard library only, and imported before anything else the CLI needs: a warm check costs a
Python start, this, and the server's work. Every way this can fail (no server, a stale socket,
a server of another user or interpreter, a server that refuses) ends in None, and the command
runs cold exactly as without a server.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

from mi_exercise.server import protocol

CONNECT_SECONDS = 2.0  # a live server answers a request at once; one that does not is not used
INTERRUPT_GRACE = 5.0  # after Ctrl-C, how long the command has to finish before a second one kills it


def command_of(args: list[str]) -> str | None:
    """The subcommand of `mi-exercise ARGS` when it is one a server runs, else None."""
    if not args or args[0].startswith("-"):
        return None  # --version, --help, or an option the group does not know: cold, as always
    if args[0] not in protocol.FORWARDED:
        return None
    words = args[1:args.index("--")] if "--" in args else args[1:]
    if "--no-server" in words or "-h" in words or "--help" in words:
        return None
    return args[0]


def workspace_start(args: list[str], cwd: Path) -> Path:
    """The folder the command looks for its workspace from: -C/--workspace, else the current one."""
    for i, word in enumerate(args):
        if word == "--":
            break
        if word in ("-C", "--workspace") and i + 1 < len(args):
            return cwd / args[i + 1]
        if word.startswith("--workspace="):
            return cwd / word.split("=", 1)[1]
        if word.startswith("-C") and len(word) > 2:
            return cwd / word[2:]
    return cwd


def connect(state_dir: Path) -> socket.socket | None:
    """A connection to the server of `state_dir`, or None. A socket nobody answers on is stale
    and removed; one whose server runs as another user is never talked to."""
    path = state_dir / protocol.SOCKET
    try:
        st = path.lstat()
    except OSError:
        return None
    import stat

    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.getuid():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_SECONDS)
    try:
        with protocol.Address(path) as address:
            sock.connect(address.text)
    except (ConnectionRefusedError, FileNotFoundError):
        sock.close()
        _remove_if_stale(state_dir, path)
        return None
    except OSError:
        sock.close()
        return None
    if protocol.peer(sock)[1] != os.getuid():
        sock.close()
        return None
    return sock


def _remove_if_stale(state_dir: Path, path: Path) -> None:
    """Remove a socket file left by a server that died, unless a server is starting (it holds the lock)."""
    if server_lock_held(state_dir):
        return
    try:
        path.unlink()
    except OSError:
        pass


def server_lock_held(state_dir: Path) -> bool:
    """Whether a server (running or starting) holds the workspace's server lock."""
    try:
        fd = os.open(state_dir / protocol.LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def forward(argv: list[str]) -> int | None:
    """Run `argv` (sys.argv) in the workspace's server; its exit status, or None to run cold."""
    args = argv[1:]
    if protocol.opted_out() or command_of(args) is None or not hasattr(socket, "send_fds"):
        return None
    cwd = Path.cwd()
    state_dir = protocol.find_state_dir(workspace_start(args, cwd))
    if state_dir is None:
        return None
    sock = connect(state_dir)
    if sock is None:
        return None
    request = {
        "op": "run", "argv": list(argv), "cwd": str(cwd), "env": dict(os.environ), "umask": _umask(),
        "executable": sys.executable,
        "encodings": [getattr(s, "encoding", None) or "utf-8" for s in (sys.stdin, sys.stdout, sys.stderr)],
    }
    try:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        protocol.send(sock, request, fds=[0, 1, 2])
        reply = _next(sock, protocol.Lines(sock), CONNECT_SECONDS * 5)
    except (OSError, ValueError):
        sock.close()
        return None
    if not isinstance(reply, dict) or "started" not in reply:
        sock.close()
        return None  # refused (stale, another environment): cold
    try:
        return _wait(sock)
    finally:
        sock.close()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _next(sock: socket.socket, lines: protocol.Lines, timeout: float | None):
    sock.settimeout(None)
    while True:
        line = lines.take()
        if line is not None:
            return line
        ready, _, _ = select.select([sock], [], [], timeout)
        if not ready:
            raise OSError("the check server did not answer")
        if not lines.feed():
            return None


def _wait(sock: socket.socket) -> int:
    """Wait for the command's end, relaying Ctrl-C: the first asks it to stop (as Ctrl-C does in
    a cold run), a second one kills it."""
    lines = protocol.Lines(sock)
    interrupts = 0
    previous = signal.getsignal(signal.SIGINT)
    pending = []

    def on_interrupt(_sig, _frame):
        pending.append(1)

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        while True:
            while pending:
                pending.pop()
                interrupts += 1
                try:
                    protocol.send(sock, {"op": "int" if interrupts == 1 else "kill"})
                except OSError:
                    pass
            line = lines.take()
            if isinstance(line, dict) and "exit" in line:
                return int(line["exit"])
            if isinstance(line, dict) and "signal" in line:
                name = _signal_name(int(line["signal"]))
                if interrupts:
                    return 130
                print(f"mi-exercise: the command's trusted process crashed ({name}) in the check server; "
                      "nothing it had not yet written was kept. Run it again with --no-server to see it cold.",
                      file=sys.stderr)
                return 1
            if line is not None:
                continue
            try:
                ready, _, _ = select.select([sock], [], [], 0.5)
            except InterruptedError:
                continue
            if ready and not lines.feed():
                print("mi-exercise: the check server went away while the command ran "
                      "(`mi-exercise server status`; --no-server runs without it).", file=sys.stderr)
                return 130 if interrupts else 1
    finally:
        signal.signal(signal.SIGINT, previous)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def start_in_background(state_dir: Path) -> bool:
    """Start the workspace's server unless one is running or starting; True when one was started.
    It warms up on its own; nothing here waits for it."""
    if protocol.opted_out() or server_lock_held(state_dir) or not hasattr(socket, "send_fds"):
        return False
    if (state_dir / protocol.SOCKET).exists() and (sock := connect(state_dir)) is not None:
        sock.close()
        return False
    try:
        log = open(state_dir / protocol.LOG, "ab")
    except OSError:
        return False
    with log:
        subprocess.Popen([sys.executable, "-m", "mi_exercise.server.daemon", str(state_dir)],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/",  # pins no folder
                         start_new_session=True, close_fds=True)
    return True
