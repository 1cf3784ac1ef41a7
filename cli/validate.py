"""`validate`: prove an exercise's grader bites.

For each exercise: the metadata is valid (the catalog loaded), the page renders, the stub and
solution exist, the grader passes the reference solution on every test, and it rejects the stub
and every mutant (at least one test not passed each).

A mutant is an override: it holds only the definitions it replaces, and what is graded is the
solution's source followed by the mutant's, as one module (later definitions win).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mi_exercise.catalog.model import Exercise
from mi_exercise.runner.check import CheckResult, run_check


@dataclass
class Trial:
    kind: str  # solution | stub | mutant
    path: Path
    result: CheckResult | None
    ok: bool
    note: str


@dataclass
class Validation:
    exercise: Exercise
    problems: list[str] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and all(t.ok for t in self.trials)

    def to_dict(self) -> dict:
        return {
            "slug": self.exercise.slug, "ok": self.ok, "problems": self.problems, "seconds": round(self.seconds, 2),
            "trials": [{"kind": t.kind, "file": t.path.name, "ok": t.ok, "note": t.note,
                        "tests_passed": t.result.n_passed if t.result else None,
                        "tests_total": len(t.result.tests) if t.result else None,
                        "seconds": round(t.result.seconds, 3) if t.result else None} for t in self.trials],
        }


def _first_failure(result: CheckResult, width: int = 160) -> str:
    for t in result.tests:
        if t.outcome.value != "passed":
            text = f"{t.name}: {t.message.splitlines()[0] if t.message else t.outcome.value}"
            return text if len(text) <= width else text[: width - 3] + "..."
    return result.problem.splitlines()[0] if result.problem else ""


def compose(solution: Path, override: Path) -> str:
    """The module graded for an override (a mutant): the solution, then the override's source."""
    marker = f"\n\n# ---- {override.parent.name}/{override.name}: the definitions below replace the solution's ----\n"
    return solution.read_text() + marker + override.read_text()


def graded_source(exercise: Exercise, override: Path) -> str:
    return compose(exercise.solution_path, override)


def run_override(exercise: Exercise, override: Path, *, device: str = "cpu", **kwargs) -> CheckResult:
    """Grade solution + override as one learner file (named after the override)."""
    with tempfile.TemporaryDirectory(prefix="mi-exercise-override-") as tmp:
        learner = Path(tmp) / override.name
        learner.write_text(graded_source(exercise, override))
        return run_check(exercise, learner, device=device, **kwargs)


def validate_exercise(exercise: Exercise, *, device: str = "cpu", render_page=None) -> Validation:
    import time

    start = time.monotonic()
    v = Validation(exercise)
    for label, path in [("stub.py", exercise.stub_path), ("page.md", exercise.page_path),
                        ("solution.py", exercise.solution_path)]:
        if not path.is_file():
            v.problems.append(f"{label} is missing ({path})")
    if not exercise.grader_files:
        v.problems.append(f"no grader test_*.py in {exercise.grader_dir}")
    if len(exercise.mutant_paths) < 3:
        v.problems.append(f"only {len(exercise.mutant_paths)} mutant(s) in {exercise.grader_dir / 'mutants'}; at least 3 are needed")
    if not exercise.hints:
        v.problems.append("no hints in exercise.toml")
    if render_page is not None and exercise.page_path.is_file():
        try:
            render_page(exercise)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            v.problems.append(f"page.md does not render: {exc}")
    if v.problems and (not exercise.grader_files or not exercise.solution_path.is_file()):
        v.seconds = time.monotonic() - start
        return v

    sol = run_check(exercise, exercise.solution_path, device=device)
    sol_ok = sol.passed
    v.trials.append(Trial("solution", exercise.solution_path, sol, sol_ok,
                          f"passes all {len(sol.tests)} tests" if sol_ok else "FAILS: " + _first_failure(sol)))
    candidates = [("stub", exercise.stub_path)] if exercise.stub_path.is_file() else []
    candidates += [("mutant", p) for p in exercise.mutant_paths]
    for kind, path in candidates:
        r = run_check(exercise, path, device=device) if kind == "stub" else run_override(exercise, path, device=device)
        rejected = not r.passed and not r.problem
        note = ("rejected: " + _first_failure(r)) if rejected else (
            "NOT rejected: the grader passes it" if r.passed else "grader problem: " + r.problem.splitlines()[0])
        v.trials.append(Trial(kind, path, r, rejected, note))
    v.seconds = time.monotonic() - start
    return v
