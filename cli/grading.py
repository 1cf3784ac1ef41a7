"""What a grader imports: the assertion helpers and the learner-facing failure type.

    from mi_exercise.grading import assert_close, fail

Fixtures (from the runner's pytest plugin): `submission` (the learner's module, through a
proxy), `reference` (the reference solution, imported on the trusted side), `device` (the
device the learner's code runs on), `exercise` (its catalog entry), `learner_source` (the
learner's file as read on the trusted side before the worker started: `.path`, `.text`).

Rules a page states about what the code may call are checked from that source, never by
asking the worker: `forbid_calls(learner_source, ["torch.linalg.qr"], rule="...")`.
"""

from __future__ import annotations

from mi_exercise.feedback.compare import GradingFailure, assert_close, assert_true, default_tolerance
from mi_exercise.feedback.source_rules import LearnerSource, find_uses, method_call_sites

__all__ = ["GradingFailure", "LearnerSource", "assert_close", "assert_true", "default_tolerance", "fail",
           "forbid_calls", "method_call_sites", "name_known_mistake"]


def fail(message: str) -> None:
    raise GradingFailure(message)


def forbid_calls(source: LearnerSource, forbidden, *, methods=(), allowed=(), keywords=(), within=(),
                 rule: str) -> None:
    """Fail, naming each use and its line, when the learner's file (or a module it imports from
    its own folder) uses a forbidden dotted path or anything under it, or one of `methods` as a
    method (`x.qr()`). Aliases, from-imports, getattr with a literal and __import__ are resolved
    (see feedback/source_rules.py); what reading cannot resolve (eval, a computed getattr on such
    a module) breaks the rule too, since it could not be checked. `within`: only these functions
    (and the file's own helpers they call) are held to the rule."""
    uses = find_uses(source.text, forbidden, methods=methods, allowed=allowed, keywords=keywords, within=within,
                     path=source.path)
    if uses:
        shown = "\n".join(f"  {u}" for u in uses[:6]) + (f"\n  ... and {len(uses) - 6} more" if len(uses) > 6 else "")
        fail(f"{rule}; your file uses:\n{shown}")


def _matches(got, wrong, rtol: float, atol: float) -> bool:
    import torch

    if isinstance(wrong, (tuple, list)):
        return (isinstance(got, (tuple, list)) and len(got) == len(wrong)
                and all(_matches(g, w, rtol, atol) for g, w in zip(got, wrong)))
    if isinstance(wrong, torch.Tensor):
        return (isinstance(got, torch.Tensor) and got.shape == wrong.shape and not got.is_complex()
                and torch.allclose(got.detach().cpu().double(), wrong.detach().cpu().double(), rtol=rtol, atol=atol,
                                   equal_nan=True))
    try:
        g, w = float(got), float(wrong)
        return (g != g and w != w) or abs(g - w) <= atol + rtol * abs(w)  # NaN matches NaN
    except (TypeError, ValueError):
        return False


def name_known_mistake(got, expected, mistakes, *, name: str, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """When `got` is not `expected` but equals what a known mistake computes (the trusted side
    computes each), fail saying that mistake by name, not only the numbers that differ.

    mistakes: [(the wrong answer, "what the mistake is and how to fix it")]."""
    if _matches(got, expected, rtol, atol):
        return
    for wrong, message in mistakes:
        if not _matches(wrong, expected, rtol, atol) and _matches(got, wrong, rtol, atol):
            fail(f"{name}: {message}")
