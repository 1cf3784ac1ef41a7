"""Run one exercise's hidden grader against one learner file: the heart of `check`.

The trusted side (this process: pytest, the grader, the reference) never imports the learner's
file; the worker does. The worker is spawned before pytest starts, so that its torch import
overlaps the grader's.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from mi_exercise.catalog.model import Exercise
from mi_exercise.runner.containment import Containment
from mi_exercise.runner import inject
from mi_exercise.runner.outcomes import Outcome
from mi_exercise.runner.proxy import Clock, Submission, WorkerConfig

PYTEST_INI = Path(__file__).with_name("pytest.ini")


@dataclass
class CheckResult:
    slug: str
    learner_file: str
    device: str
    tests: list = field(default_factory=list)  # list[TestResult]
    seconds: float = 0.0
    started_at: str = ""
    problem: str = ""  # a problem with the grader itself (collection failed)
    figures: dict = field(default_factory=dict)  # the grader's record_figure arrays (learner_results.py)

    @property
    def passed(self) -> bool:
        """Every test that ran passed (at least one did); a test the grader did not run for a
        reason of this machine (Outcome.NOT_RUN) is neither a pass nor a failure."""
        return (self.n_passed > 0 and not self.problem
                and all(t.outcome in (Outcome.PASSED, Outcome.NOT_RUN) for t in self.tests))

    @property
    def n_passed(self) -> int:
        return sum(t.outcome is Outcome.PASSED for t in self.tests)

    @property
    def not_run(self) -> list:
        return [t for t in self.tests if t.outcome is Outcome.NOT_RUN]

    @property
    def n_ran(self) -> int:
        return len(self.tests) - len(self.not_run)

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_points(self) -> float:
        """Out of the tests that ran: a test not run counts neither for nor against."""
        return sum(t.max_points for t in self.tests if t.outcome is not Outcome.NOT_RUN)

    @property
    def status(self) -> str:
        if self.problem:
            return "grader error"
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict:
        return {
            "slug": self.slug, "status": self.status, "passed": self.passed, "device": self.device,
            "learner_file": self.learner_file, "tests_passed": self.n_passed, "tests_total": len(self.tests),
            "tests_not_run": len(self.not_run),
            "points": self.points, "max_points": self.max_points, "seconds": round(self.seconds, 3),
            "started_at": self.started_at, "problem": self.problem,
            "tests": [t.to_dict() for t in self.tests],
        }


def read_learner_source(path: Path):
    """The learner's file as text, for graders' source rules; None when it cannot be read."""
    from mi_exercise.feedback.source_rules import LearnerSource  # no torch: read before the spawn

    try:
        return LearnerSource(path, path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None


def forget_graders(files) -> None:
    """Drop grader modules from sys.modules before pytest imports them again: its importlib mode
    reuses a module of the same name, so a second run in this process (validate's trials, grade's
    collection then its checks) would get the first run's module, or find no tests where the
    first import failed, instead of importing the file as it is now."""
    import sys

    wanted = {os.path.realpath(str(f)) for f in files}
    # the file name first: a realpath of each of torch's ~1500 modules cost ~0.1 s per call
    names = {os.path.basename(str(f)) for f in files} | {os.path.basename(w) for w in wanted}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and os.path.basename(path) in names and os.path.realpath(path) in wanted:
            del sys.modules[name]


def resolve_device(requested: str, exercise: Exercise) -> str:
    """'auto' is resolved by the worker (it has torch loaded); an exercise may pin the CPU."""
    if exercise.device == "cpu":
        return "cpu"
    return requested


def run_check(exercise: Exercise, learner_file: Path, *, device: str = "auto", sandbox: list[str] | None = None,
              reference_path: Path | None = None, options: dict | None = None, spawner=None,
              own_parts: bool | None = None, reference_cache: bool = True) -> CheckResult:
    """`spawner` (config -> WorkerProcess) starts the worker; by default a warm worker when one
    is running (this process's pool or the workspace's daemon, see warm.py), else a cold one.
    `own_parts=False` injects the reference parts even where the exercise grades the learner's
    own (validate: a solution has no earlier files beside it)."""
    learner_file = Path(learner_file).resolve()
    started = time.monotonic()
    limits = exercise.limits
    config = WorkerConfig(
        learner_file=learner_file,
        module_name=exercise.module_name,
        device=resolve_device(device, exercise),
        memory_mb=limits.memory_mb,
        preload=exercise.needs,
        output_kb=limits.output_kb,
        sandbox=sandbox,
        threads=limits.threads,
        inject=tuple(inject.parts_for(exercise, own=own_parts)),
    )
    clock = Clock(test_seconds=limits.test_seconds, check_seconds=limits.check_seconds)
    if spawner is None:  # a warm pool hands out a worker only when its sandboxing matches
        from mi_exercise.runner.warm import spawner_for

        spawner = spawner_for(learner_file)
    contained = Containment()  # before the worker: whatever it leaves behind is re-parented to us
    source = read_learner_source(learner_file)  # before the worker runs: its code cannot rewrite it first
    submission = Submission(config, clock, spawner, reaper=contained.kill_strays)
    submission.start()  # first, so the worker's torch import overlaps ours
    import pytest

    from mi_exercise.runner.plugin import GradingPlugin

    from mi_exercise.runner.reference_cache import enabled

    plugin = GradingPlugin(exercise, submission, clock, reference_path or exercise.solution_path, options,
                           learner_source=source, reference_cache=enabled(reference_cache))
    grader_files = [str(p) for p in exercise.grader_files]
    result = CheckResult(slug=exercise.slug, learner_file=str(learner_file), device=config.device,
                         started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if not grader_files:
        result.problem = f"no grader (test_*.py) in {exercise.grader_dir}"
        submission.close()
        contained.kill_strays()
        return result
    args = [
        *grader_files,
        "-c", str(PYTEST_INI),
        "--rootdir", str(exercise.grader_dir),
        "--import-mode=importlib",
        # Plugins are named, not discovered: whatever else is installed (anyio, typeguard, a
        # course's own) neither changes how graders run nor costs its import (~1 s) per check.
        "-p", "pytest_timeout",
        "-p", "no:cacheprovider",
        "-p", "no:terminal",
        "-p", "no:warnings",
        "-p", "no:stepwise",
        "-p", "no:logging",
        # its unconfigure runs gc.collect() several times: about half of a warm check's time
        "-p", "no:unraisableexception",
        "-p", "no:threadexception",
        "--capture=no",
        # a backstop for a grader that hangs on its own; learner calls have their own limits
        "--timeout", str(int(limits.test_seconds * 3 + 120)),
        "-o", "timeout_method=signal",
    ]
    env_before = os.environ.get("PYTEST_CURRENT_TEST")
    autoload_before = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    forget_graders(grader_files)
    try:
        pytest.main(args, plugins=[plugin])
    finally:
        if env_before is None:
            os.environ.pop("PYTEST_CURRENT_TEST", None)
        if autoload_before is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload_before
        try:
            result.device = submission._worker.device or config.device
        except AttributeError:
            pass
        submission.close()
        contained.kill_strays()  # every process the check started is dead before its verdict is kept
    result.tests = plugin.results
    result.figures = plugin.figures
    if plugin.collect_errors:
        result.problem = "the grader could not be loaded:\n" + "\n".join(plugin.collect_errors)[-3000:]
    elif not plugin.results:
        result.problem = "the grader has no tests"
    result.seconds = time.monotonic() - started
    return result
