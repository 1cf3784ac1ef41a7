"""The safe format values cross the trust boundary in.

A frame is a length-prefixed message: a JSON tree, then the raw bytes of the tensors (and
bytes values) it refers to. Decoding is JSON plus checked slices of those bytes: there is no
unpickling anywhere, so a submission cannot hand the grader an object with behaviour (a fake
tensor whose __eq__ says yes), and a forged frame is at worst a malformed one.

What crosses: None, bool, int, float (NaN and infinities too), complex, str, bytes, list,
tuple, dict (keys str, int, float, bool or None), torch.Size, torch.dtype, torch.device and
dense tensors of the usual dtypes, with their sizes and strides kept (a transposed view arrives
transposed, an expanded one still has stride 0; only the stretch of storage the view covers is
sent, so a view arrives at storage offset 0) and requires_grad.
Objects that do not fit stay in the worker and cross as a handle:
{HANDLE: id, "type": ..., "repr": ...}.

JSON nodes: scalars and lists as themselves; every other value is a one-key object, so no
learner dict can be mistaken for one: {"t": [...]} tuple, {"d": [[k, v], ...]} dict,
{"c": [re, im]} complex, {"b": [offset, nbytes]} bytes, {"S": [...]} torch.Size,
{"D": "float32"} dtype, {"V": "cuda:0"} device, {"T": [dtype, sizes, strides, span_elems,
buf_offset, requires_grad]} tensor. Buffers start 64-byte aligned, so tensors are
read in place from the frame (no copy).

Requests put their tensors in shared memory instead ({"M": [...]}, same fields, the offset
into the memory file sent with the frame as SCM_RIGHTS): the worker maps that file and the
learner's code works on it, so the trusted side reads the arguments' bytes after the call
itself and sees every change made in place (see `encode_request`).

Every read and write of the trusted side has a deadline for the whole frame (`read_frame_by`,
`send_by`): a frame header followed by silence is a timeout, a stream that ends mid-frame is a
MalformedFrame that says so.

This replaced torch.save + torch.load(weights_only=True): the same guarantees, and a round trip
of a small call costs ~0.1 ms instead of ~1.4 ms (a check makes dozens of calls).
"""

from __future__ import annotations

import array
import json
import math
import os
import select
import socket
import struct
import time
from dataclasses import dataclass, field

HANDLE = "__mi_handle__"
HEADER = struct.Struct("!Q")
JSON_LEN = struct.Struct("!Q")
MAX_FRAME = 4 << 30  # 4 GiB: a frame larger than this is a corrupt or hostile stream
ALIGN = 64
MAX_DEPTH = 200

DTYPE_NAMES = (
    "bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
)


class ChannelClosed(Exception):
    """The other end closed the pipe (the worker died or exited)."""


class MalformedFrame(ValueError):
    """A frame that is not in the format (a forged, truncated or corrupt message)."""


class FrameTimeout(TimeoutError):
    """The deadline passed before a whole frame was read (writing=False) or written."""

    def __init__(self, done: int = 0, total: int | None = None, writing: bool = False):
        super().__init__(done, total)
        self.done, self.total, self.writing = done, total, writing

    def describe(self) -> str:
        """How far the frame got, for a learner; '' for a reply not begun."""
        total = self.total if self.total is not None else "?"
        if self.writing:
            return f"it stopped reading its requests: {self.done} of {total} bytes of this one were taken"
        if not self.done:
            return ""
        return f"{self.done} of {total} bytes of its reply came, then nothing"


_dtypes: dict | None = None


def _dtype_table() -> dict:
    global _dtypes
    if _dtypes is None:
        import torch

        _dtypes = {name: getattr(torch, name) for name in DTYPE_NAMES if hasattr(torch, name)}
    return _dtypes


def _extent(sizes, strides) -> int:
    """How many storage elements a non-empty strided view reaches, from its first one."""
    return 1 + sum((s - 1) * st for s, st in zip(sizes, strides))


# -- encoding ---------------------------------------------------------------------------------
class _Buffers:
    """Byte chunks laid out one after another, each padded to ALIGN."""

    def __init__(self):
        self.chunks: list = []
        self.size = 0

    def add(self, data) -> int:
        offset = self.size
        n = len(data) if not isinstance(data, memoryview) else data.nbytes
        self.chunks.append(data)
        pad = (-n) % ALIGN
        if pad:
            self.chunks.append(b"\0" * pad)
        self.size += n + pad
        return offset


class _Encoder:
    def __init__(self, shared: bool = False):
        self.inline = _Buffers()  # buffers in the frame
        self.shared = _Buffers() if shared else None  # tensors' bytes in the memory file
        self.seen: dict[int, object] = {}  # id(tensor) -> node: the same tensor twice aliases
        self.originals: dict[int, tuple] = {}  # id(tensor) -> (tensor, node, its bytes as uint8)

    @property
    def chunks(self) -> list:
        return self.inline.chunks

    @property
    def size(self) -> int:
        return self.inline.size

    def add_buffer(self, data) -> int:
        return self.inline.add(data)

    def encode(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            raise TypeError("nested too deeply to send")
        t = type(value)
        if value is None or t is bool or t is str:
            return value
        if t is int or t is float:
            return value
        if t is list:
            return [self.encode(v, depth + 1) for v in value]
        if t is dict:
            return {"d": [[self.key(k), self.encode(v, depth + 1)] for k, v in value.items()]}
        if t is tuple:
            return {"t": [self.encode(v, depth + 1) for v in value]}
        if t is complex:
            return {"c": [value.real, value.imag]}
        if t is bytes or t is bytearray:
            return {"b": [self.add_buffer(bytes(value)), len(value)]}
        import torch

        if isinstance(value, torch.Tensor):
            return self.tensor(value)
        if t is torch.Size:
            return {"S": [int(v) for v in value]}
        if t is torch.dtype:
            name = str(value).removeprefix("torch.")
            if name not in _dtype_table():
                raise TypeError(f"dtype {value} cannot be sent")
            return {"D": name}
        if t is torch.device:
            return {"V": str(value)}
        raise TypeError(f"a {t.__name__} cannot be sent (only tensors, numbers, strings, bytes, None, "
                        "lists, tuples, dicts, torch.Size, dtypes and devices)")

    @staticmethod
    def key(k):
        if k is None or type(k) in (str, int, float, bool):
            return k
        raise TypeError(f"a dict key of type {type(k).__name__} cannot be sent")

    def tensor(self, value):
        import torch

        known = self.seen.get(id(value))
        if known is not None:
            return known
        t = value.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        if t.layout != torch.strided:
            t = t.to_dense()
        t = t.resolve_conj().resolve_neg()
        name = str(t.dtype).removeprefix("torch.")
        if name not in _dtype_table():
            raise TypeError(f"a tensor of dtype {t.dtype} cannot be sent")
        sizes, strides = list(t.shape), list(t.stride())
        tag, flat = "T", None
        if t.numel() == 0:
            span, buf = 0, 0
        else:
            span = _extent(sizes, strides)
            flat = torch.as_strided(t, (span,), (1,), t.storage_offset()).contiguous().view(torch.uint8)
            if self.shared is not None:
                tag, buf = "M", self.shared.add(flat.numpy().data)
            else:
                buf = self.add_buffer(flat.numpy().data)
        node = {tag: [name, sizes, strides, span, buf, bool(value.requires_grad)]}
        self.seen[id(value)] = node
        if tag == "M":
            self.originals[id(value)] = (value, node, flat)
        return node


def encode(obj) -> list:
    """The frame for `obj` as a list of byte chunks (header included), ready to write."""
    return _frame(_Encoder(), obj)


def _frame(enc: _Encoder, obj) -> list:
    try:
        text = json.dumps(enc.encode(obj), separators=(",", ":"), allow_nan=True).encode()
    except ValueError as exc:  # a circular structure
        raise TypeError(str(exc)) from None
    head = JSON_LEN.pack(len(text))
    pad = (-(len(head) + len(text))) % ALIGN
    body = [head, text, b"\0" * pad, *enc.chunks]
    total = len(head) + len(text) + pad + enc.size
    if total > MAX_FRAME:
        raise TypeError(f"the message is {total >> 20} MiB, more than the {MAX_FRAME >> 30} GiB limit")
    return [HEADER.pack(total), *body]


def dumps(obj) -> bytes:
    return b"".join(bytes(c) for c in encode(obj))


# -- shared memory for a request's tensors ------------------------------------------------------
@dataclass
class SharedArgs:
    """The memory file holding one request's tensors, as the trusted side wrote them.

    `changed(t)` and `after(t)` read the file itself after the call: what the learner's code did
    to its arguments is observed here, never reported by the worker. The file is sealed against
    shrinking (Linux), and read with pread, never mapped, so nothing the worker does to it can
    fault the trusted process."""

    fd: int
    size: int
    originals: dict = field(default_factory=dict)  # id(tensor) -> (tensor, node, bytes before)
    _after: bytearray | None = None

    def read(self) -> bytearray:
        if self._after is None:
            buf = bytearray(self.size)
            view, got = memoryview(buf), 0
            while got < self.size:
                n = os.preadv(self.fd, [view[got:]], got) if hasattr(os, "preadv") else _pread_into(self.fd, view, got)
                if n <= 0:  # shorter than written: the rest reads as zeros, so it counts as changed
                    break
                got += n
            self._after = buf
        return self._after

    def _now(self, tensor):
        import torch

        _t, node, before = self.originals[id(tensor)]
        name, sizes, strides, span, offset, _rg = next(iter(node.values()))
        return torch.frombuffer(self.read(), dtype=torch.uint8, count=before.numel(), offset=offset), before

    def holds(self, tensor) -> bool:
        entry = self.originals.get(id(tensor))
        return entry is not None and entry[0] is tensor

    def changed(self, tensor) -> bool:
        """Whether the bytes of `tensor` differ now from those sent (values equal, NaN where NaN,
        count as unchanged, as -0.0 for 0.0 does)."""
        import torch

        now, before = self._now(tensor)
        if torch.equal(now, before):
            return False
        dtype = tensor.dtype
        if not (dtype.is_floating_point or dtype.is_complex):
            return True
        a, b = before.view(dtype), now.view(dtype)
        return not torch.equal(torch.isnan(a), torch.isnan(b)) or not bool(((a == b) | torch.isnan(a)).all())

    def after(self, tensor):
        """`tensor` as it is in the memory file now: a private copy with its sizes and strides."""
        import torch

        now, _before = self._now(tensor)
        _t, node, _ = self.originals[id(tensor)]
        name, sizes, strides, span, offset, rg = next(iter(node.values()))
        out = now.clone().view(tensor.dtype).as_strided(sizes, strides)
        return out.requires_grad_(True) if rg and (out.dtype.is_floating_point or out.dtype.is_complex) else out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _pread_into(fd: int, view: memoryview, offset: int) -> int:
    data = os.pread(fd, len(view) - offset, offset)
    view[offset:offset + len(data)] = data
    return len(data)


def _memory_file(size: int) -> int:
    """An anonymous file of `size` bytes: a sealed memfd on Linux, an unlinked temp file elsewhere."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("mi-exercise-args", os.MFD_CLOEXEC | getattr(os, "MFD_ALLOW_SEALING", 0))
    else:
        import tempfile

        fd = os.dup(tempfile.TemporaryFile().fileno())  # the file object closes its own fd; ours stays
    os.ftruncate(fd, size)
    return fd


def _seal(fd: int) -> None:
    import fcntl

    seals = getattr(fcntl, "F_SEAL_SHRINK", 0) | getattr(fcntl, "F_SEAL_GROW", 0) | getattr(fcntl, "F_SEAL_SEAL", 0)
    if seals and hasattr(fcntl, "F_ADD_SEALS"):
        try:
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
        except OSError:
            pass


def _pwrite_all(fd: int, chunks: list) -> None:
    offset = 0
    for chunk in chunks:
        data = memoryview(chunk).cast("B")
        while data:
            n = os.pwrite(fd, data, offset)
            data, offset = data[n:], offset + n


def encode_request(obj) -> tuple[list, SharedArgs | None]:
    """A request's frame, with its tensors in a new memory file (None when it has none)."""
    enc = _Encoder(shared=True)
    chunks = _frame(enc, obj)
    if not enc.shared.size:
        return chunks, None
    fd = _memory_file(enc.shared.size)
    try:
        _pwrite_all(fd, enc.shared.chunks)
        _seal(fd)
    except BaseException:
        os.close(fd)
        raise
    return chunks, SharedArgs(fd, enc.shared.size, enc.originals)


# -- decoding ---------------------------------------------------------------------------------
class _Decoder:
    def __init__(self, frame: bytearray, base: int, shared=None):
        self.frame = frame
        self.base = base  # where the buffers start
        self.shared = shared  # the request's memory file, mapped (a writable buffer), or None
        self.tensors: dict[tuple, object] = {}

    def span(self, offset, nbytes) -> int:
        if type(offset) is not int or type(nbytes) is not int or offset < 0 or nbytes < 0:
            raise MalformedFrame("bad buffer reference")
        start = self.base + offset
        if start + nbytes > len(self.frame):
            raise MalformedFrame("buffer reference out of range")
        return start

    def decode(self, node, depth: int = 0):
        if depth > MAX_DEPTH:
            raise MalformedFrame("nested too deeply")
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.decode(v, depth + 1) for v in node]
        if type(node) is not dict or len(node) != 1:
            raise MalformedFrame("unknown node")
        (tag, body), = node.items()
        if tag == "t" and type(body) is list:
            return tuple(self.decode(v, depth + 1) for v in body)
        if tag == "d" and type(body) is list:
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise MalformedFrame("bad dict entry")
                k, v = pair
                if not (k is None or type(k) in (str, int, float, bool)):
                    raise MalformedFrame("bad dict key")
                out[k] = self.decode(v, depth + 1)
            return out
        if tag == "c" and type(body) is list and len(body) == 2 and all(type(x) in (int, float) for x in body):
            return complex(body[0], body[1])
        if tag == "b" and type(body) is list and len(body) == 2:
            start = self.span(body[0], body[1])
            return bytes(self.frame[start:start + body[1]])
        import torch

        if tag == "S" and type(body) is list and all(type(x) is int and x >= 0 for x in body):
            return torch.Size(body)
        if tag == "D" and type(body) is str and body in _dtype_table():
            return _dtype_table()[body]
        if tag == "V" and type(body) is str and len(body) < 64:
            try:
                return torch.device(body)
            except (RuntimeError, ValueError):
                raise MalformedFrame("bad device") from None
        if tag == "T" and type(body) is list and len(body) == 6:
            return self.tensor(*body)
        if tag == "M" and type(body) is list and len(body) == 6 and self.shared is not None:
            return self.tensor(*body, shared=True)
        raise MalformedFrame(f"bad {tag!r} node")

    def tensor(self, name, sizes, strides, span, buf, requires_grad, shared: bool = False):
        import torch

        dtype = _dtype_table().get(name) if type(name) is str else None
        ints = (type(sizes) is list and type(strides) is list and len(sizes) == len(strides) <= 64
                and all(type(x) is int and x >= 0 for x in sizes + strides + [span]))
        if dtype is None or not ints or type(requires_grad) is not bool:
            raise MalformedFrame("bad tensor node")
        numel = math.prod(sizes)
        if numel == 0:
            t = torch.empty_strided(sizes, strides, dtype=dtype)
        else:
            if _extent(sizes, strides) > span:
                raise MalformedFrame("tensor larger than its data")
            itemsize = dtype.itemsize
            source = self.shared if shared else self.frame
            if shared:
                if type(buf) is not int or buf < 0 or buf + span * itemsize > len(source):
                    raise MalformedFrame("shared buffer reference out of range")
                start = buf
            else:
                start = self.span(buf, span * itemsize)
            key = (shared, start, span, name)
            flat = self.tensors.get(key)
            if flat is None:
                flat = torch.frombuffer(source, dtype=dtype, count=span, offset=start)
                self.tensors[key] = flat
            t = flat.as_strided(sizes, strides)
        if requires_grad and (dtype.is_floating_point or dtype.is_complex):
            t.requires_grad_(True)
        return t


def decode_frame(frame: bytearray, shared=None):
    """The value in one frame's payload; MalformedFrame when it is not in the format. `shared`:
    the mapped memory file of a request ({"M": ...} tensors are views of it)."""
    if len(frame) < JSON_LEN.size:
        raise MalformedFrame("frame too short")
    (n,) = JSON_LEN.unpack_from(frame, 0)
    end = JSON_LEN.size + n
    if end > len(frame):
        raise MalformedFrame("frame too short")
    try:
        tree = json.loads(bytes(frame[JSON_LEN.size:end]))
    except (ValueError, RecursionError):
        raise MalformedFrame("not JSON") from None
    base = end + (-end) % ALIGN
    try:
        return _Decoder(frame, base, shared).decode(tree)
    except RecursionError:
        raise MalformedFrame("nested too deeply") from None


def loads_safe(data) -> object:
    return decode_frame(bytearray(data))


# -- pipes ------------------------------------------------------------------------------------
def write_frame(fd: int, payload: bytes) -> None:
    """A raw frame: header + payload (the first, JSON-only frame of a worker uses this)."""
    write_chunks(fd, [HEADER.pack(len(payload)), payload])


def write_chunks(fd: int, chunks) -> None:
    for chunk in chunks:
        data = memoryview(chunk).cast("B")
        while data:
            n = os.write(fd, data)
            data = data[n:]


def send(fd: int, obj) -> None:
    write_chunks(fd, encode(obj))


def read_exact(fd: int, n: int) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = os.readv(fd, [view[got:got + (1 << 24)]])
        if not k:
            raise ChannelClosed()
        got += k
    return buf


def read_frame(fd: int) -> bytearray:
    (length,) = HEADER.unpack(read_exact(fd, HEADER.size))
    if length > MAX_FRAME:
        raise ChannelClosed()
    return read_exact(fd, length)


def receive(fd: int):
    """The next value on `fd`; MalformedFrame for anything not in the format."""
    return decode_frame(read_frame(fd))


def _read_by(fd: int, n: int, deadline: float, done: int, total: int | None, on_idle=None) -> bytearray:
    """n bytes from non-blocking `fd` before `deadline` (time.monotonic); `done`/`total` place
    them in their frame for the errors. `on_idle(ready)` is polled too (the output pipe)."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FrameTimeout(done + got, total)
        extra = on_idle.fds() if on_idle is not None else []  # it closes its pipe at the end
        ready, _, _ = select.select([fd, *extra], [], [], left)
        if extra:
            on_idle.pump(ready)
        if fd not in ready:
            continue
        try:
            k = os.readv(fd, [view[got:got + (1 << 24)]])
        except BlockingIOError:
            continue
        if not k:
            if done + got == 0:
                raise ChannelClosed()
            raise MalformedFrame(f"partial frame: {done + got} of {total if total is not None else '?'} "
                                 "bytes, then the stream ended")
        got += k
    return buf


def read_frame_by(fd: int, deadline: float, on_idle=None) -> bytearray:
    """One whole frame from non-blocking `fd` before `deadline`: FrameTimeout when time runs out
    (however much of it came), ChannelClosed at a clean end, MalformedFrame otherwise."""
    head = _read_by(fd, HEADER.size, deadline, 0, None, on_idle)
    (length,) = HEADER.unpack(head)
    if length > MAX_FRAME:
        raise MalformedFrame(f"a frame header announcing {length} bytes")
    total = HEADER.size + length
    return _read_by(fd, length, deadline, HEADER.size, total, on_idle)


def send_by(sock: socket.socket, chunks, deadline: float, fds: tuple[int, ...] = ()) -> None:
    """Write a frame to non-blocking `sock` before `deadline`; `fds` travel with its first byte.
    FrameTimeout when the other end stops reading, ChannelClosed when it is gone."""
    views = [memoryview(c).cast("B") for c in chunks]
    views = [v for v in views if v.nbytes]
    total = sum(v.nbytes for v in views)
    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    sent = 0
    while views:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FrameTimeout(sent, total, writing=True)
        _, ready, _ = select.select([], [sock], [], left)
        if not ready:
            continue
        try:
            n = sock.sendmsg(views[:512], ancillary)
        except (BlockingIOError, InterruptedError):
            continue
        except (BrokenPipeError, ConnectionResetError):
            raise ChannelClosed() from None
        ancillary = []
        sent += n
        while n and views:
            if n >= views[0].nbytes:
                n -= views.pop(0).nbytes
            else:
                views[0] = views[0][n:]
                n = 0


def read_frame_fds(sock: socket.socket, max_fds: int = 4) -> tuple[bytearray, list[int]]:
    """A frame from a blocking socket, and the file descriptors that came with its first bytes
    (the worker's side of `send_by`)."""
    head = b""
    fds: list[int] = []
    while len(head) < HEADER.size:
        data, new_fds, _flags, _addr = socket.recv_fds(sock, HEADER.size - len(head), max_fds)
        fds += new_fds
        if not data:
            for fd in fds:
                os.close(fd)
            raise ChannelClosed()
        head += data
    (length,) = HEADER.unpack(head)
    if length > MAX_FRAME:
        raise ChannelClosed()
    return read_exact(sock.fileno(), length), fds


def is_handle(value) -> bool:
    return isinstance(value, dict) and HANDLE in value
