"""How a graded test can end, and the exceptions the trusted side raises for each end.

A grader test ends in one of these outcomes. Learner-caused ends other than a plain wrong
answer are raised as SubmissionProblem subclasses by the proxy, so that graders stay ordinary
pytest and the plugin can classify the end from the exception alone.
"""

from __future__ import annotations

from enum import Enum


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"  # the function ran and returned a wrong answer
    ERROR = "error"  # the function (or its module's import) raised
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out of memory"
    CRASHED = "crashed"  # the worker died on a signal
    EXITED = "exited"  # the learner's code called sys.exit / os._exit
    GRADER_ERROR = "grader error"  # the grader itself broke: an instructor's problem
    # the grader chose not to run this test, for a fact of the grading machine it observed itself
    # (pytest.skip: GPT-2's weights are not cached, say); neither a pass nor a failure
    NOT_RUN = "not run"

    @property
    def symbol(self) -> str:
        return {
            "passed": "✓", "failed": "✗", "error": "!", "timeout": "⏱", "out of memory": "M",
            "crashed": "☠", "exited": "⏏", "grader error": "?", "not run": "·",
        }[self.value]


class SubmissionProblem(Exception):
    """Learner code did not give a value back: the message is written for the learner."""

    outcome = Outcome.ERROR

    def __init__(self, message: str, traceback: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.traceback = traceback or []

    def __str__(self) -> str:
        if not self.traceback:
            return self.message
        return self.message + "\n" + "\n".join(self.traceback)


class LearnerError(SubmissionProblem):
    outcome = Outcome.ERROR


class LearnerImportError(SubmissionProblem):
    outcome = Outcome.ERROR


class SubmissionTimeout(SubmissionProblem):
    outcome = Outcome.TIMEOUT


class SubmissionOutOfMemory(SubmissionProblem):
    outcome = Outcome.OUT_OF_MEMORY


class SubmissionCrashed(SubmissionProblem):
    outcome = Outcome.CRASHED


class SubmissionExited(SubmissionProblem):
    outcome = Outcome.EXITED


class CheckTimeExceeded(SubmissionProblem):
    # the learner's earlier tests used the check's time: a failure, never "not run" (which passes)
    outcome = Outcome.TIMEOUT


def problem_from_end(end: dict) -> SubmissionProblem:
    """Turn the worker's description of a failed call into the matching exception."""
    kind = end.get("kind")
    message = end.get("message", "")
    tb = list(end.get("traceback") or [])
    cls = {
        "error": LearnerError,
        "import_error": LearnerImportError,
        "oom": SubmissionOutOfMemory,
        "exited": SubmissionExited,
    }.get(kind, LearnerError)
    return cls(message, tb)
