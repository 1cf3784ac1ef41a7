"""What a grader imports: the assertion helpers and the learner-facing failure type.

    from mi_exercise.grading import assert_close, fail

Fixtures (from the runner's pytest plugin): `submission` (the learner's module, through a
proxy), `reference` (the reference solution, imported on the trusted side), `device` (the
device the learner's code runs on), `exercise` (its catalog entry).
"""

from mi_exercise.feedback.compare import GradingFailure, assert_close, assert_true, default_tolerance

__all__ = ["GradingFailure", "assert_close", "assert_true", "default_tolerance", "fail"]


def fail(message: str) -> None:
    raise GradingFailure(message)
