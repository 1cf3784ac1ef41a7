"""What the learner's code printed: the worker's stdout and stderr are a pipe the trusted side
drains whenever it waits on the worker, keeping for each test the first and last part of the
output and a count of the bytes; everything in between is dropped.

A print flood is therefore never an error (a correct solution that prints 200 MB passes) and
never fills a disk; the report says how much was printed and shows its first and last lines.
"""

from __future__ import annotations

import fcntl
import os

PIPE_BYTES = 1 << 20  # a larger pipe: fewer wake-ups while a flood is drained


def make_pipe() -> tuple[int, int]:
    """(read end, write end) for a worker's output; the read end is ours and non-blocking."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass
    return r, w


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


class OutputTail:
    """The output pipe's read end: `pump` it while waiting, `take` one test's output."""

    def __init__(self, fd: int, limit_bytes: int):
        self.fd = fd
        self.limit = max(int(limit_bytes), 2)
        self._start()

    def _start(self) -> None:
        self.head = bytearray()  # the first `limit` bytes
        self.tail = bytearray()  # the last limit/2 bytes of what came after
        self.count = 0

    def fds(self) -> list[int]:
        return [self.fd] if self.fd >= 0 else []

    def pump(self, ready=None) -> None:
        """Read whatever is in the pipe now (ready: the fds a select found readable)."""
        if self.fd < 0 or (ready is not None and self.fd not in ready):
            return
        while True:
            try:
                data = os.read(self.fd, PIPE_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:  # every writer is gone
                os.close(self.fd)
                self.fd = -1
                return
            self._add(data)

    def _add(self, data: bytes) -> None:
        self.count += len(data)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            keep = self.limit // 2
            if len(self.tail) > keep:
                del self.tail[:-keep]

    def take(self) -> str:
        """This test's output (everything if it fits the limit, else its first and last lines
        around a line that says how much was printed), and start the next test's."""
        self.pump()
        if self.count <= self.limit:
            text = self.head.decode("utf-8", "replace")
        else:
            half = self.limit // 2
            first = bytes(self.head[:half])
            first = first[:first.rfind(b"\n") + 1] or first  # whole lines where there are any
            last = bytes(self.tail)
            cut = last.find(b"\n")
            last = last[cut + 1:] if 0 <= cut < len(last) - 1 else last
            shown = len(first) + len(last)
            text = (f"[your code printed {self.count:,} bytes ({_size(self.count)}); "
                    f"the first and last lines follow, {_size(self.count - shown)} between them were dropped]\n"
                    + first.decode("utf-8", "replace") + "[...]\n" + last.decode("utf-8", "replace"))
        self._start()
        return text

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
