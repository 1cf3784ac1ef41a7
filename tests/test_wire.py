"""The wire format between the trusted side and the worker: what crosses comes back equal (with
its strides, aliasing and requires_grad), and anything that is not in the format is refused
before it becomes an object."""

import json
import math
import os
import pickle
import struct

import pytest
import torch

from mi_exercise.runner import wire


def roundtrip(value):
    return wire.loads_safe(wire.dumps(value)[wire.HEADER.size:])


def raw_frame(tree, tail: bytes = b"") -> bytes:
    text = json.dumps(tree).encode()
    head = wire.JSON_LEN.pack(len(text))
    pad = (-(len(head) + len(text))) % wire.ALIGN
    return head + text + b"\0" * pad + tail


@pytest.mark.parametrize("value", [
    None, True, False, 0, -2**80, 1.5, -0.0, float("inf"), "ünïcode", b"\x00\xffbytes", [], [1, [2, [3]]],
    (1, (2.5, "x")), {"a": 1, 2: "b", None: [3]}, 2 - 3j, torch.Size([2, 0, 3]), torch.bfloat16, torch.device("cpu"),
    {"__mi_handle__": 7, "type": "GPT2", "repr": "GPT2()"},
])
def test_plain_values_round_trip(value):
    got = roundtrip(value)
    assert got == value and type(got) is type(value)
    if isinstance(value, float):
        assert math.copysign(1, got) == math.copysign(1, value)


def test_nan_round_trips():
    assert math.isnan(roundtrip(float("nan")))


def tensors():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 7, generator=g)
    return {
        "plain": x, "transposed": x.t(), "strided": x[:, ::2], "offset view": x[1:3, 2:], "scalar": torch.tensor(3.5),
        "empty": torch.empty(0, 4), "expanded": torch.randn(3, generator=g).expand(4, 3),
        "bool": torch.arange(6).reshape(2, 3) % 2 == 0, "int64": torch.arange(10), "uint8": torch.arange(5, dtype=torch.uint8),
        "bfloat16": torch.randn(4, generator=g).to(torch.bfloat16), "float16": torch.randn(2, 2, generator=g).half(),
        "complex": torch.randn(3, dtype=torch.complex64, generator=g), "float64": torch.randn(3, 1, 2, dtype=torch.float64, generator=g),
    }


@pytest.mark.parametrize("name", list(tensors()))
def test_tensors_keep_dtype_shape_strides_and_values(name):
    t = tensors()[name]
    got = roundtrip(t)
    assert type(got) is torch.Tensor
    assert (got.dtype, got.shape, got.stride()) == (t.dtype, t.shape, t.stride())
    assert torch.equal(got, t)
    assert got.is_contiguous() == t.is_contiguous()  # a grader's non-contiguous input stays non-contiguous


def test_lazy_conjugate_parameter_and_requires_grad():
    z = torch.randn(3, dtype=torch.complex64)
    assert torch.equal(roundtrip(z.conj()), z.conj().resolve_conj())
    p = roundtrip(torch.nn.Parameter(torch.ones(2)))
    assert type(p) is torch.Tensor and p.requires_grad
    leaf = roundtrip(torch.randn(3, requires_grad=True))
    assert leaf.requires_grad and leaf.is_leaf
    assert not roundtrip(torch.randn(3)).requires_grad


def test_the_same_tensor_twice_arrives_as_one_storage():
    x = torch.randn(4)
    a, b = roundtrip((x, x))
    assert a.data_ptr() == b.data_ptr()
    a.add_(1)
    assert torch.equal(a, b)


def test_objects_with_behaviour_are_not_sent():
    class Fake(torch.Tensor):
        pass

    for bad in [object(), lambda: 1, {1, 2}, {(1, 2): 3}, torch.randn(2).numpy()]:
        with pytest.raises(TypeError):
            wire.dumps(bad)
    got = roundtrip(torch.randn(2).as_subclass(Fake))  # a subclass crosses as a plain tensor
    assert type(got) is torch.Tensor


@pytest.mark.parametrize("payload", [
    b"", b"\0" * 8, wire.JSON_LEN.pack(1000) + b"{}",
    pickle.dumps({"ok": True, "value": "forged"}),  # the old format, and what a forger writes
    raw_frame({"ok": True}),  # a dict must be tagged: an untagged object is not in the format
    raw_frame({"d": [[[1], 2]]}),  # a list as a key
    raw_frame({"T": ["float32", [10**6, 10**6], [10**6, 1], 4, 0, False]}, b"\0" * 16),  # bigger than its data
    raw_frame({"T": ["float32", [4], [1], 4, 0, False]}),  # data out of range
    raw_frame({"T": ["object", [1], [1], 1, 0, False]}, b"\0" * 8),
    raw_frame({"T": ["float32", [2], [-1], 2, 0, False]}, b"\0" * 8),
    raw_frame({"T": ["float32", [2], [1], 2, -64, False]}, b"\0" * 8),
    raw_frame({"b": [0, 100]}, b"\0" * 8),
    raw_frame({"V": "gpu:banana"}),
    raw_frame({"c": ["1", 2]}),
    raw_frame(json.loads("[" * 400 + "]" * 400)),
])
def test_malformed_frames_are_refused(payload):
    with pytest.raises(wire.MalformedFrame):
        wire.loads_safe(payload)


def test_a_frame_through_a_pipe():
    r, w = os.pipe()
    big = {"weights": torch.randn(300_000), "name": "big"}  # more than a pipe buffer: written in pieces
    import threading

    writer = threading.Thread(target=wire.send, args=(w, big))
    writer.start()
    got = wire.receive(r)
    writer.join()
    os.close(r)
    os.close(w)
    assert got["name"] == "big" and torch.equal(got["weights"], big["weights"])


def test_a_closed_pipe_is_a_closed_channel():
    r, w = os.pipe()
    os.write(w, struct.pack("!Q", 100) + b"short")
    os.close(w)
    with pytest.raises(wire.ChannelClosed):
        wire.receive(r)
    os.close(r)


# -- the trusted side's deadlines and shared memory (issue 13) ----------------------------------
def test_a_frame_read_by_a_deadline_says_how_far_it_got():
    import time

    r, w = os.pipe()
    os.set_blocking(r, False)
    os.write(w, struct.pack("!Q", 100))  # a header, then silence
    start = time.monotonic()
    with pytest.raises(wire.FrameTimeout) as stalled:
        wire.read_frame_by(r, time.monotonic() + 0.3)
    assert 0.3 <= time.monotonic() - start < 1.5
    assert (stalled.value.done, stalled.value.total) == (8, 108)
    os.close(r)
    os.close(w)
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.write(w, struct.pack("!Q", 100) + b"short")
    os.close(w)  # a header, a little, then the end
    with pytest.raises(wire.MalformedFrame, match="partial frame: 13 of 108 bytes"):
        wire.read_frame_by(r, time.monotonic() + 1)
    os.close(r)


def test_a_request_nobody_reads_times_out_instead_of_blocking():
    import socket
    import time

    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    start = time.monotonic()
    with pytest.raises(wire.FrameTimeout) as stuck:
        wire.send_by(ours, wire.encode({"indices": list(range(400_000))}), time.monotonic() + 0.3)
    assert 0.3 <= time.monotonic() - start < 1.5
    assert stuck.value.writing and 0 < stuck.value.done < stuck.value.total
    ours.close()
    theirs.close()


def test_the_trusted_side_reads_changes_from_the_shared_memory_itself():
    import mmap

    x, nan = torch.tensor([1.0, -0.0, 2.0]), torch.tensor([float("nan"), 1.0])
    view = torch.arange(12.0).reshape(3, 4).t()  # a strided view comes back with its strides
    chunks, shared = wire.encode_request({"args": (x, nan, view, 3)})
    frame = bytearray(b"".join(bytes(c) for c in chunks)[wire.HEADER.size:])
    mapped = mmap.mmap(shared.fd, 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    args = wire.decode_frame(frame, shared=mapped)["args"]  # what the worker's learner code gets
    assert not any(shared.changed(t) for t in (x, nan, view))
    args[0][1] = 0.0  # -0.0 -> 0.0: equal values, not a change
    args[1][1] = 1.0  # NaN where NaN was
    assert not shared.changed(x) and not shared.changed(nan)
    args[2].mul_(2)
    shared._after = None  # read the file again
    assert shared.changed(view) and not shared.changed(x)
    after = shared.after(view)
    assert after.stride() == view.stride() and torch.equal(after, view * 2) and torch.equal(view, view * 1)
    del args
    mapped.close()
    shared.close()
