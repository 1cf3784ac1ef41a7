"""The assertion helper's messages, and the device logic (tested on CPU: no GPU here)."""

from __future__ import annotations

import pytest
import torch

from mi_exercise.feedback.compare import CUDA_FLOAT32, GradingFailure, assert_close, default_tolerance
from mi_exercise.runner import worker as worker_module


def message(actual, expected, **kw) -> str:
    with pytest.raises(GradingFailure) as info:
        assert_close(actual, expected, **kw)
    return str(info.value)


def test_shape_dtype_type_messages():
    e = torch.zeros(3, 5)
    assert "expected (3, 5), got (5, 3)" in message(torch.zeros(5, 3), e, name="f(x)")
    assert "transpose" in message(torch.zeros(5, 3), e)
    assert "reshape" in message(torch.zeros(15), e)
    assert "dtype differs: expected torch.float32, got torch.float64" in message(e.double(), e)
    assert "got NoneType (did you forget to return?)" in message(None, e)
    assert "expected a Python number, got a tensor" in message(torch.tensor(1.0), 1.0)


def test_worst_element_and_excerpt():
    e = torch.arange(12.0).reshape(3, 4)
    a = e.clone()
    a[2, 1] += 5
    a[0, 0] += 0.5
    text = message(a, e, name="scores")
    assert "values differ at 2 of 12 positions" in text
    assert "worst at index (2, 1): expected 9, got 14" in text
    assert "expected [" in text and "actual   [" in text


def test_nan_and_inf_are_named():
    e = torch.ones(2, 2)
    a = e.clone()
    a[1, 0] = float("nan")
    assert "1 NaN value(s), first at index (1, 0)" in message(a, e)
    a[1, 0] = float("inf")
    assert "infinite value at index (1, 0)" in message(a, e)
    both = torch.tensor([float("nan"), 1.0])
    assert_close(both.clone(), both)  # NaN where NaN is expected is fine


def test_nested_structures_and_integers():
    assert_close((torch.ones(2), {"a": 1}), (torch.ones(2), {"a": 1}))
    assert "result[1]['a']: expected 1, got 2" in message((torch.ones(2), {"a": 2}), (torch.ones(2), {"a": 1}))
    assert "first at index (1,): expected 2, got 3" in message(torch.tensor([1, 3]), torch.tensor([1, 2]))
    assert "expected 2 items, got 1" in message([1], [1, 2])


def test_tf32_sized_errors_pass_on_cuda_tolerances_only():
    assert default_tolerance(torch.float32, "cuda") == CUDA_FLOAT32
    assert default_tolerance(torch.float32, "cuda:0") == CUDA_FLOAT32
    expected = torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
    tf32_like = expected * (1 + 1e-3)  # TF32 keeps ~10 mantissa bits
    assert_close(tf32_like, expected, device="cuda")
    with pytest.raises(GradingFailure):
        assert_close(tf32_like, expected, device="cpu")


@pytest.mark.parametrize("cuda, mps, requested, chosen", [
    (True, False, "auto", "cuda"),
    (False, True, "auto", "mps"),
    (False, False, "auto", "cpu"),
    (True, True, "cpu", "cpu"),
    (True, True, "mps", "mps"),
    (False, False, "cuda", "cpu"),
])
def test_auto_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, requested, chosen):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert worker_module.pick_device(requested) == chosen


def test_worker_reports_each_tensor_device_and_sends_plain_cpu_tensors():
    import socket

    req, _peer = socket.socketpair()  # the worker reads its requests from a Unix socket
    w = worker_module.Worker(req.detach(), -1)
    devices: dict = {}
    param = torch.nn.Parameter(torch.ones(2))
    value = w.to_wire({"a": [param, torch.empty(3, device="meta")], "n": 3}, devices)
    assert devices == {"result['a'][0]": "cpu", "result['a'][1]": "meta"}
    assert type(value["a"][0]) is torch.Tensor and not value["a"][0].requires_grad
    handle = w.to_wire(torch.nn.Linear(2, 2), {})
    assert handle["type"] == "Linear" and "__mi_handle__" in handle
