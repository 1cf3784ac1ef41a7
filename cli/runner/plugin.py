"""The pytest plugin that runs one grader in the trusted process.

It provides the graders' fixtures, starts each test's clock, and turns every test's end into
a TestResult (outcome, learner-facing message, seconds, points, captured learner output).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mi_exercise.feedback.compare import GradingFailure
from mi_exercise.runner import inject
from mi_exercise.runner.outcomes import Outcome, SubmissionProblem
from mi_exercise.runner.proxy import Clock, Submission


@dataclass
class TestResult:
    name: str
    outcome: Outcome
    message: str = ""
    seconds: float = 0.0
    points: float = 0.0
    max_points: float = 1.0
    output: str = ""
    detail: str = ""  # the full pytest report, shown with -v
    visibility: str = "visible"  # exercise.toml [visibility]: a hidden test's message is not shown to learners
    learner_seconds: float = 0.0  # of `seconds`, the time spent in calls to the learner's code

    def to_dict(self) -> dict:
        return {
            "name": self.name, "outcome": self.outcome.value, "message": self.message,
            "seconds": round(self.seconds, 4), "points": self.points, "max_points": self.max_points,
            "output": self.output, "visibility": self.visibility, "learner_seconds": round(self.learner_seconds, 4),
        }


_reference_cache: dict[Path, object] = {}
_reference_loaded: dict[Path, tuple] = {}  # path -> (digest of its source, of its parts, its globals as loaded)


def load_reference(path: Path, exercise=None):
    """Import a reference solution on the trusted side, once per process; the reference parts it
    imports (the exercise's `uses`) are registered first."""
    path = path.resolve()
    if path not in _reference_cache:
        parts = inject.parts_for(exercise, own=False) if exercise is not None else []
        if parts:
            inject.register(parts)
        try:
            source_digest = hashlib.sha256(path.read_bytes()).hexdigest()  # what runs, for the cache's key
        except OSError:
            source_digest = None
        name = "mi_exercise_reference_" + "_".join(path.parent.parts[-2:]).replace("-", "_")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _reference_cache[path] = module
        from mi_exercise.runner.reference_cache import digest_parts, loaded_globals

        _reference_loaded[path] = (source_digest, digest_parts(parts), loaded_globals(module))
    return _reference_cache[path]


def classify(exc: BaseException) -> tuple[Outcome, str]:
    if isinstance(exc, SubmissionProblem):
        return exc.outcome, str(exc)
    if isinstance(exc, GradingFailure):
        return Outcome.FAILED, str(exc)
    if isinstance(exc, AssertionError):
        text = str(exc).strip() or "an assertion in the grader failed"
        return Outcome.FAILED, text
    return Outcome.GRADER_ERROR, f"the grader could not judge this result: {type(exc).__name__}: {exc}"


class GradingPlugin:
    def __init__(self, exercise, submission: Submission, clock: Clock, reference_path: Path,
                 options: dict | None = None, learner_source=None, reference_cache: bool = False):
        # underscore names: pytest reads every public attribute of a plugin as a possible fixture
        self._exercise = exercise
        self._submission = submission
        self._clock = clock
        self._reference_path = reference_path
        self._options = dict(options or {})
        self._learner_source = learner_source  # grading.LearnerSource, read before the worker started
        self._cache_references = reference_cache  # reference_cache.py: never for grade
        self._reference_proxy = None
        self.results: list[TestResult] = []
        self.collect_errors: list[str] = []
        self.figures: dict[str, list] = {}  # record_figure's arrays, saved after the check

    # -- fixtures -------------------------------------------------------------------------
    @pytest.fixture
    def submission(self):
        return self._submission

    @pytest.fixture
    def reference(self):
        module = load_reference(self._reference_path, self._exercise)
        if not self._cache_references:
            return module
        if self._reference_proxy is None:
            self._reference_proxy = self._cached_reference(module)
        return self._reference_proxy

    def _cached_reference(self, module):
        from mi_exercise.runner import reference_cache

        source_digest, parts_digest, globals_at_load = _reference_loaded[self._reference_path.resolve()]
        if source_digest is None:
            return module
        config = getattr(self._submission, "_config", None)
        device = getattr(config, "device", None) or "auto"

        def store():  # made on the first call: the key reads the grader folder
            return reference_cache.Store.for_exercise(self._exercise, source_digest, parts_digest, device)

        return reference_cache.ReferenceProxy(module, store, globals_at_load)

    @pytest.fixture
    def device(self) -> str:
        return self._submission.device

    @pytest.fixture
    def options(self) -> dict:
        """Grading options from the command line: {"full": bool, "model": "gpt2" | None}."""
        return self._options

    @pytest.fixture
    def shipped_model(self):
        """`shipped_model("induction" | "gpt2", device)`: a handle (RemoteObject) to a model that
        the worker loads with mi-exercise's own loader, whatever the learner's file imports."""
        from mi_exercise.runner.worker import SHIPPED_MODELS

        def load(name: str = "induction", device: str | None = None):
            if name not in SHIPPED_MODELS:
                raise ValueError(f"shipped_model: unknown model {name!r} (known: {', '.join(SHIPPED_MODELS)})")
            device = device or self._submission.device
            return self._submission.load_shipped(name, device)

        return load

    @pytest.fixture
    def learner_source(self):
        """The learner's file as the trusted side read it (never imported here): for graders
        that check a stated rule ("no torch.linalg.qr") with mi_exercise.grading.forbid_calls."""
        if self._learner_source is None:
            pytest.fail("the learner's source was not read for this check", pytrace=False)
        return self._learner_source

    @pytest.fixture
    def record_figure(self):
        """record_figure(name, value): keep a value the learner's code returned (a tensor or nested
        lists of numbers) for the exercise page to draw beside the reference's. Plain numbers only
        (see site_builder/learner_results.py); a value that is not a small array is left out."""
        from mi_exercise.site_builder.learner_results import NAME, ResultError, plain_array

        def record(name: str, value) -> bool:
            if not isinstance(name, str) or not NAME.match(name):  # the grader's mistake, not the learner's
                raise ValueError(f"record_figure: a figure's name is lower-case letters, digits, '_', '.', '-': {name!r}")
            try:
                self.figures[name] = plain_array(value)
            except ResultError:
                return False
            return True
        return record

    @pytest.fixture(name="exercise")
    def exercise_fixture(self):
        return self._exercise

    # -- hooks ----------------------------------------------------------------------------
    def pytest_configure(self, config):
        config.addinivalue_line("markers", "uses(fn='test_name', ...): this test runs the learner's fn, "
                                           "which test_name checks on its own (named in a failure that may follow)")

    def _cascade_note(self, item) -> str:
        """A failing test marked @pytest.mark.uses(fn="test_fn") names the parts it ran that had
        already failed their own tests in this check: one bug, said where it is."""
        marker = item.get_closest_marker("uses")
        if marker is None:
            return ""
        failed = [(fn, r.name) for fn, test in marker.kwargs.items() for r in self.results
                  if (r.name == test or r.name.startswith(test + "[")) and r.outcome not in (Outcome.PASSED, Outcome.NOT_RUN)]
        if not failed:
            return ""
        parts = ", ".join(f"your {fn} (which failed {test})" for fn, test in dict(failed).items())
        return f"This test runs {parts}: fix that first; this failure may only follow from it."

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        self._clock.start_test()
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if call.when == "setup" and call.excinfo is None:
            return
        if call.when == "teardown" and call.excinfo is None:
            return
        name = item.name
        max_points = self._exercise.points_for(name)  # "test_x[case]" may have its own points
        seconds = call.stop - call.start
        if call.excinfo is None:
            result = TestResult(name, Outcome.PASSED, "", seconds, max_points, max_points)
        else:
            exc = call.excinfo.value
            kind, message = classify(exc)
            if isinstance(exc, pytest.skip.Exception):
                kind, message = Outcome.NOT_RUN, str(exc)
            if kind is not Outcome.NOT_RUN:
                note = self._cascade_note(item)
                message = f"{message}\n{note}" if note else message
            result = TestResult(name, kind, message, seconds, 0.0, max_points,
                                detail=str(report.longrepr) if report.longrepr else "")
        result.output = self._submission.take_output()
        result.learner_seconds = self._submission.take_learner_seconds()
        result.visibility = self._exercise.visibility_for(name)
        # setup errors and call results both land here; one result per test
        self.results = [r for r in self.results if r.name != name] + [result]

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors.append(str(report.longrepr))
