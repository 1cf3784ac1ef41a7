"""What crosses the check server's socket, where the socket lives, and when a server is stale.

Standard library only: the client imports this before anything heavy.

Messages are JSON lines. A client sends one request line; a "run" request carries its
terminal's file descriptors (stdin, stdout, stderr) with SCM_RIGHTS. The server answers
{"started": pid} and later {"exit": code} or {"signal": n}; or {"refused": why} at once, and
the client then runs the command cold. While a command runs the client may send "int" (Ctrl-C)
or "kill"; hanging up kills the command.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
from pathlib import Path

STATE_DIR = ".mi-exercise"  # the workspace's state folder (workspace.STATE_DIR, without its imports)
SOCKET = "server.sock"
STATE = "server.json"
LOCK = "server.lock"
LOG = "server.log"

FORWARDED = ("check", "watch", "validate", "grade")  # the commands a server runs
OPT_OUT_ENV = "MI_EXERCISE_SERVER"  # off / 0 / no / false: never use or start a server
IDLE_ENV = "MI_EXERCISE_SERVER_IDLE"  # seconds without a command before the server exits
IDLE_SECONDS = 15 * 60
MAX_LINE = 1 << 22  # a request carries the environment: generous, but bounded

# What the server's own imports read from the environment: a client whose values differ is
# refused (it runs cold), since the server imported torch and the rest under its own.
IMPORT_ENV_PREFIXES = ("PYTHON", "TORCH", "PYTORCH", "OMP_", "MKL_", "CUDA", "LD_", "HF_", "TRANSFORMERS",
                       "VIRTUAL_ENV", "CONDA_PREFIX", "MI_EXERCISE_CONTENT")


def opted_out(env=None) -> bool:
    value = (env if env is not None else os.environ).get(OPT_OUT_ENV, "").strip().lower()
    return value in ("off", "0", "no", "false")


def idle_seconds(env=None) -> float:
    try:
        return max(1.0, float((env if env is not None else os.environ).get(IDLE_ENV, IDLE_SECONDS)))
    except ValueError:
        return float(IDLE_SECONDS)


def env_key(env: dict, executable: str) -> str:
    """The part of a process's environment the server's imports depend on, hashed."""
    picked = sorted((k, v) for k, v in env.items() if k.startswith(IMPORT_ENV_PREFIXES))
    return hashlib.sha256(json.dumps([os.path.realpath(executable), picked]).encode()).hexdigest()[:16]


def find_state_dir(start: Path) -> Path | None:
    """The workspace state folder at or above `start` (as workspace.find_workspace looks)."""
    here = Path(start).resolve()
    for folder in [here, *here.parents]:
        if (folder / STATE_DIR).is_dir():
            return folder / STATE_DIR
    return None


class Address:
    """A socket path that fits in sockaddr_un (108 bytes): a long one is reached through
    /proc/self/fd/N of its folder, opened here and kept open while this object lives."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd = None
        text = str(self.path)
        if len(os.fsencode(text)) < 100 or not os.path.isdir("/proc/self/fd"):
            self.text = text
        else:
            self._fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_PATH", 0))
            self.text = f"/proc/self/fd/{self._fd}/{self.path.name}"

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "Address":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def peer(sock: socket.socket) -> tuple[int, int]:
    """(pid, uid) of the process at the other end."""
    pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return pid, uid


def send(sock: socket.socket, message: dict, fds=()) -> None:
    data = json.dumps(message).encode() + b"\n"
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.sendall(data)


class Lines:
    """JSON lines (and the descriptors that came with them) read from a socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""
        self.fds: list[int] = []
        self.closed = False

    def feed(self, max_fds: int = 0) -> bool:
        """Read what is there (one recv); False once the other end has hung up."""
        try:
            if max_fds:
                data, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, max_fds)
                self.fds += fds
            else:
                data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.buf += data
        if len(self.buf) > MAX_LINE and b"\n" not in self.buf:
            raise ValueError("a line longer than the limit")
        return True

    def take(self):
        """The next whole line, decoded (a dict or a bare word), or None."""
        if b"\n" not in self.buf:
            return None
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.strip()
        if line.startswith(b"{"):
            return json.loads(line)
        return line.decode("ascii", "replace")
