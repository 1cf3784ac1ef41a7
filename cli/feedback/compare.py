"""The one assertion helper graders use: it says what differs, in a learner's words.

assert_close(actual, expected, name="softmax(x)") checks, in order: the type, the shape, the
dtype, NaN/inf that the expected value does not have, then the values with tolerances that hold
on CPU and on CUDA (TF32), naming the worst element, where it is, and a small excerpt.
Nested tuples, lists and dicts are compared element by element.
"""

from __future__ import annotations

import math


class GradingFailure(AssertionError):
    """A wrong answer: the message is the whole feedback."""


# (rtol, atol) per dtype; CUDA gets looser float32 tolerances because matmuls use TF32.
TOLERANCES = {
    "float64": (1e-7, 1e-9),
    "float32": (1e-4, 1e-5),
    "float16": (1e-2, 1e-3),
    "bfloat16": (2e-2, 1e-2),
}
CUDA_FLOAT32 = (5e-3, 5e-3)


def default_tolerance(dtype, device: str = "cpu") -> tuple[float, float]:
    name = str(dtype).replace("torch.", "")
    if name == "float32" and str(device).startswith("cuda"):
        return CUDA_FLOAT32
    return TOLERANCES.get(name, (0.0, 0.0))


def _fmt(x) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def _excerpt(t, center: int, width: int = 3) -> str:
    flat = t.reshape(-1)
    lo, hi = max(0, center - width), min(flat.numel(), center + width + 1)
    values = ", ".join(_fmt(v) for v in flat[lo:hi].tolist())
    return ("[..., " if lo > 0 else "[") + values + (", ...]" if hi < flat.numel() else "]")


def _unravel(index: int, shape) -> tuple[int, ...]:
    out = []
    for size in reversed(shape):
        out.append(index % size)
        index //= size
    return tuple(reversed(out))


def assert_close(actual, expected, *, name: str = "result", rtol: float | None = None,
                 atol: float | None = None, device: str = "cpu", check_dtype: bool = True) -> None:
    import torch

    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)):
            raise GradingFailure(f"{name}: expected a {type(expected).__name__} of {len(expected)} items, "
                                 f"got {type(actual).__name__}")
        if len(actual) != len(expected):
            raise GradingFailure(f"{name}: expected {len(expected)} items, got {len(actual)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, name=f"{name}[{i}]", rtol=rtol, atol=atol, device=device, check_dtype=check_dtype)
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise GradingFailure(f"{name}: expected a dict, got {type(actual).__name__}")
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing or extra:
            raise GradingFailure(f"{name}: keys differ (missing {missing}, unexpected {extra})")
        for k in expected:
            assert_close(actual[k], expected[k], name=f"{name}[{k!r}]", rtol=rtol, atol=atol,
                         device=device, check_dtype=check_dtype)
        return
    if isinstance(expected, torch.Tensor):
        _assert_tensor(actual, expected, name, rtol, atol, device, check_dtype)
        return
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if type(actual) is not type(expected) or actual != expected:
            raise GradingFailure(f"{name}: expected {expected!r}, got {actual!r}")
        return
    if isinstance(expected, (int, float)):
        if isinstance(actual, torch.Tensor) and actual.numel() == 1:
            raise GradingFailure(f"{name}: expected a Python number, got a tensor {actual!r}; use .item()")
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            raise GradingFailure(f"{name}: expected a number, got {type(actual).__name__} {actual!r}")
        if math.isnan(actual) and not math.isnan(expected):
            raise GradingFailure(f"{name}: got NaN, expected {_fmt(expected)}")
        r, a = (rtol, atol) if rtol is not None else ((1e-5, 1e-6) if isinstance(expected, float) else (0.0, 0.0))
        a = atol if atol is not None else a
        if not (abs(actual - expected) <= a + r * abs(expected)):
            raise GradingFailure(f"{name}: expected {_fmt(expected)}, got {_fmt(actual)}")
        return
    if actual != expected:
        raise GradingFailure(f"{name}: expected {expected!r}, got {actual!r}")


def _assert_tensor(actual, expected, name, rtol, atol, device, check_dtype) -> None:
    import torch

    if not isinstance(actual, torch.Tensor):
        kind = type(actual).__name__
        hint = " (did you forget to return?)" if actual is None else ""
        raise GradingFailure(f"{name}: expected a Tensor of shape {tuple(expected.shape)}, got {kind}{hint}")
    if actual.shape != expected.shape:
        hint = ""
        if sorted(actual.shape) == sorted(expected.shape) and actual.dim() >= 2:
            hint = " (the same sizes in another order: a transpose or swapped dimensions?)"
        elif actual.numel() == expected.numel():
            hint = " (the same number of elements: a reshape or a missing/extra dimension?)"
        raise GradingFailure(f"{name}: shape differs: expected {tuple(expected.shape)}, got {tuple(actual.shape)}{hint}")
    if check_dtype and actual.dtype != expected.dtype:
        raise GradingFailure(f"{name}: dtype differs: expected {expected.dtype}, got {actual.dtype}")
    if actual.numel() == 0:
        return
    if actual.is_floating_point() or actual.is_complex():
        a_nan, e_nan = torch.isnan(actual), torch.isnan(expected)
        if (a_nan & ~e_nan).any():
            idx = int((a_nan & ~e_nan).reshape(-1).nonzero()[0])
            count = int((a_nan & ~e_nan).sum())
            raise GradingFailure(f"{name}: {count} NaN value(s), first at index {_unravel(idx, actual.shape)} "
                                 f"where {_fmt(expected.reshape(-1)[idx].item())} was expected "
                                 "(a division by zero, log of 0, or exp overflow?)")
        a_inf, e_inf = torch.isinf(actual), torch.isinf(expected)
        if (a_inf & ~e_inf).any():
            idx = int((a_inf & ~e_inf).reshape(-1).nonzero()[0])
            raise GradingFailure(f"{name}: infinite value at index {_unravel(idx, actual.shape)} where "
                                 f"{_fmt(expected.reshape(-1)[idx].item())} was expected (numerical overflow?)")
        d_rtol, d_atol = default_tolerance(expected.dtype, device)
        r = d_rtol if rtol is None else rtol
        a = d_atol if atol is None else atol
        act = actual.to(expected.dtype) if actual.dtype != expected.dtype else actual
        diff = (act - expected).abs()
        both_nan = a_nan & e_nan
        same_inf = a_inf & e_inf & (act == expected)
        diff = torch.where(both_nan | same_inf, torch.zeros_like(diff), diff)
        allowed = a + r * expected.abs().nan_to_num(posinf=0.0, neginf=0.0)
        bad = diff > allowed
        if bad.any():
            worst = int(torch.where(bad, diff - allowed, torch.full_like(diff, -1.0)).reshape(-1).argmax())
            where = _unravel(worst, actual.shape)
            nbad = int(bad.sum())
            raise GradingFailure(
                f"{name}: values differ at {nbad} of {actual.numel()} positions; worst at index {where}: "
                f"expected {_fmt(expected.reshape(-1)[worst].item())}, got {_fmt(act.reshape(-1)[worst].item())} "
                f"(|diff| {_fmt(diff.reshape(-1)[worst].item())}, allowed {_fmt(allowed.reshape(-1)[worst].item())})\n"
                f"    expected {_excerpt(expected, worst)}\n    actual   {_excerpt(act, worst)}")
        return
    if not torch.equal(actual.to(expected.dtype), expected):
        bad = actual.to(expected.dtype) != expected
        worst = int(bad.reshape(-1).nonzero()[0])
        raise GradingFailure(
            f"{name}: values differ at {int(bad.sum())} of {actual.numel()} positions; first at index "
            f"{_unravel(worst, actual.shape)}: expected {expected.reshape(-1)[worst].item()}, got "
            f"{actual.reshape(-1)[worst].item()}\n    expected {_excerpt(expected, worst)}\n    actual   {_excerpt(actual, worst)}")


def assert_true(condition: bool, message: str) -> None:
    if not condition:
        raise GradingFailure(message)
