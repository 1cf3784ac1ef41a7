"""The safe format values cross the trust boundary in.

Frames are length-prefixed torch.save payloads. The trusted side reads the worker's frames
with torch.load(weights_only=True): tensors, numbers, strings, bytes, None, lists, tuples,
dicts, torch.Size, dtypes. Nothing else unpickles, so a submission cannot hand the grader an
object with behaviour (a fake tensor whose __eq__ says yes). Objects that do not fit the format
stay in the worker and cross as a handle: {HANDLE: id, "type": ..., "repr": ...}.
"""

from __future__ import annotations

import io
import os
import struct

HANDLE = "__mi_handle__"
HEADER = struct.Struct("!Q")
MAX_FRAME = 4 << 30  # 4 GiB: a frame larger than this is a corrupt or hostile stream


class ChannelClosed(Exception):
    """The other end closed the pipe (the worker died or exited)."""


def dumps(obj) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def loads_safe(data: bytes):
    import torch

    return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")


def write_frame(fd: int, payload: bytes) -> None:
    data = memoryview(HEADER.pack(len(payload)) + payload)
    while data:
        n = os.write(fd, data)
        data = data[n:]


def read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise ChannelClosed()
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes:
    (length,) = HEADER.unpack(read_exact(fd, HEADER.size))
    if length > MAX_FRAME:
        raise ChannelClosed()
    return read_exact(fd, length)


def is_handle(value) -> bool:
    return isinstance(value, dict) and HANDLE in value
