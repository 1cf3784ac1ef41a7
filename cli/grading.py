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
           "forbid_calls", "method_call_sites"]


def fail(message: str) -> None:
    raise GradingFailure(message)


def forbid_calls(source: LearnerSource, forbidden, *, methods=(), allowed=(), keywords=(), rule: str) -> None:
    """Fail, naming each use and its line, when the learner's file (or a module it imports from
    its own folder) uses a forbidden dotted path or anything under it, or one of `methods` as a
    method (`x.qr()`). Aliases, from-imports, getattr with a literal and __import__ are resolved
    (see feedback/source_rules.py); what reading cannot resolve (eval, a computed getattr on such
    a module) breaks the rule too, since it could not be checked."""
    uses = find_uses(source.text, forbidden, methods=methods, allowed=allowed, keywords=keywords, path=source.path)
    if uses:
        shown = "\n".join(f"  {u}" for u in uses[:6]) + (f"\n  ... and {len(uses) - 6} more" if len(uses) > 6 else "")
        fail(f"{rule}; your file uses:\n{shown}")
