"""`validate`: prove an exercise's grader bites, and show how.

For each exercise: the metadata is valid (the catalog loaded, and catalog/checks.py finds its
[points]/[visibility] keys among the grader's tests and the stub's names and signatures in the
solution), the page renders, the stub and solution exist, the grader passes the reference
solution on every test, it rejects the stub and every mutant (at least one test not passed
each), and it passes every alternative.

Mutants (`mutants/*.py`, wrong answers) and alternatives (`alternatives/*.py`, correct answers
written differently) are overrides: a file holds only the definitions it replaces, and what is
graded is the solution's source followed by the override's, as one module (later definitions
win; a method is replaced by assigning it onto the solution's class). The first paragraph of an
override's docstring says what it does differently: a mutant's mistake, an alternative's way.

Each trial records which tests caught it (or failed it), each test's visibility and the message
the learner would read, so the report can say not only *whether* a mutant was rejected but *by
what*; a mutant caught only by tests the learner never reads is a warning.
"""

from __future__ import annotations

import ast
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mi_exercise.catalog.model import Exercise
from mi_exercise.runner.check import CheckResult, run_check

KINDS = ("solution", "stub", "mutant", "alternative")
HIDDEN_MESSAGE = "hidden test: details are not shown"  # what `grade` gives a learner for a hidden test
IMPORT_FAILED = "your file could not be imported"  # how the runner starts the message of such a test


# -- overrides ------------------------------------------------------------------------------
def compose(solution: Path, override: Path) -> str:
    """The module graded for an override: the solution, then the override's source."""
    marker = f"\n\n# ---- {override.parent.name}/{override.name}: the definitions below replace the solution's ----\n"
    return solution.read_text() + marker + override.read_text()


def graded_source(exercise: Exercise, override: Path) -> str:
    return compose(exercise.solution_path, override)


def sandbox_prefix(sandbox, path: Path) -> list[str] | None:
    """The sandbox prefix for grading `path` in validate: the content readable (solutions and
    mutants live there) and the file's own folder; None unsandboxed."""
    if sandbox is None:
        return None
    from mi_exercise.sandbox import content_view

    return sandbox.prefix(readable=[*content_view(), Path(path).parent])


def run_override(exercise: Exercise, override: Path, *, device: str = "cpu", sandbox=None,
                 scratch: Path | None = None, **kwargs) -> CheckResult:
    """Grade solution + override as one learner file (named after the override), written in
    `scratch` (a folder a sandboxed warm worker can read) or a new temporary folder."""
    with tempfile.TemporaryDirectory(prefix="mi-exercise-override-", dir=scratch) as tmp:
        learner = Path(tmp) / override.name
        learner.write_text(graded_source(exercise, override))
        return run_check(exercise, learner, device=device, sandbox=sandbox_prefix(sandbox, learner), **kwargs)


def described_change(path: Path) -> str:
    """An override's first docstring paragraph (a mutant's mistake), on one line; '' if none."""
    try:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    except SyntaxError:
        return ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def alternative_paths(exercise: Exercise) -> list[Path]:
    folder = exercise.grader_dir / "alternatives"
    return sorted(folder.glob("*.py")) if folder.is_dir() else []


# -- the record -----------------------------------------------------------------------------
@dataclass
class Catch:
    """One test that did not pass for a trial: what it was, who may read it, what it says."""

    test: str
    outcome: str
    visibility: str  # visible | hidden | after_due_date (exercise.toml's [visibility])
    message: str  # what `check` shows the learner, in full

    @property
    def learner_reads(self) -> str:
        """What a learner graded by `grade` reads: the message of a visible test only."""
        return self.message if self.visibility == "visible" else HIDDEN_MESSAGE

    def to_dict(self) -> dict:
        return {"test": self.test, "outcome": self.outcome, "visibility": self.visibility,
                "message": self.message, "learner_reads": self.learner_reads}


@dataclass
class Trial:
    kind: str  # one of KINDS
    path: Path
    result: CheckResult | None
    ok: bool
    verdict: str  # a few words: "rejected by 2 of 11 tests", "NOT rejected: ..."
    change: str = ""  # a mutant's mistake, an alternative's different way (its docstring)
    caught_by: list[Catch] = field(default_factory=list)  # tests not passed, in the grader's order
    problem: str = ""  # the grader's own problem (it could not be loaded, ...), in full
    warning: str = ""

    @property
    def note(self) -> str:
        """One line: the verdict and, where a test did not pass, the first one and its message."""
        if self.problem:
            return f"{self.verdict}: {_first_line(self.problem)}"
        if not self.caught_by:
            return self.verdict
        first = self.caught_by[0]
        return f"{self.verdict}: {first.test}: {_first_line(first.message)}"

    @property
    def expected_to_pass(self) -> bool:
        return self.kind in ("solution", "alternative")

    def to_dict(self) -> dict:
        r = self.result
        return {"kind": self.kind, "file": self.path.name, "ok": self.ok, "verdict": self.verdict, "note": self.note,
                "change": self.change,
                "caught_by": [c.to_dict() for c in self.caught_by], "problem": self.problem, "warning": self.warning,
                "tests_passed": r.n_passed if r else None, "tests_total": len(r.tests) if r else None,
                "seconds": round(r.seconds, 3) if r else None}


@dataclass
class Validation:
    exercise: Exercise
    problems: list[str] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and all(t.ok for t in self.trials)

    @property
    def warnings(self) -> list[str]:
        return [f"{t.kind} {t.path.name}: {t.warning}" for t in self.trials if t.warning]

    def count(self, kind: str) -> tuple[int, int]:
        """(trials of this kind that hold, trials of this kind)."""
        of_kind = [t for t in self.trials if t.kind == kind]
        return sum(t.ok for t in of_kind), len(of_kind)

    def to_dict(self) -> dict:
        return {"slug": self.exercise.slug, "ok": self.ok, "problems": self.problems, "warnings": self.warnings,
                "seconds": round(self.seconds, 2), "trials": [t.to_dict() for t in self.trials]}


# -- judging one trial --------------------------------------------------------------------
def _catches(exercise: Exercise, result: CheckResult) -> list[Catch]:
    return [Catch(t.name, t.outcome.value, exercise.visibility_for(t.name), t.message or t.outcome.value)
            for t in result.tests if t.outcome.value not in ("passed", "not run")]  # not run: no catch


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def judge(exercise: Exercise, kind: str, path: Path, result: CheckResult) -> Trial:
    """The verdict on one trial: a solution or alternative must pass every test; a stub or
    mutant must fail at least one, and the grader must have run (no problem of its own)."""
    trial = Trial(kind, path, result, ok=False, verdict="", caught_by=_catches(exercise, result),
                  problem=result.problem, change=described_change(path) if kind in ("mutant", "alternative") else "")
    n, total = len(trial.caught_by), len(result.tests)
    tests = "test" if total == 1 else "tests"
    if result.problem:
        trial.verdict = "grader problem"
        return trial
    if trial.expected_to_pass:
        trial.ok = result.passed
        trial.verdict = f"passes all {total} {tests}" if trial.ok else f"FAILS {n} of {total} {tests}"
        return trial
    trial.ok = not result.passed
    if not trial.ok:
        trial.verdict = f"NOT rejected: the grader passes all {total} {tests}"
        return trial
    if kind == "mutant" and all(c.message.startswith(IMPORT_FAILED) for c in trial.caught_by):
        # rejected only because solution + override does not import: that proves nothing about the grader
        trial.ok = False
        trial.verdict = "BROKEN: solution + this override cannot be imported"
        return trial
    trial.verdict = f"rejected by {n} of {total} {tests}"
    seen = [c for c in trial.caught_by if c.visibility == "visible"]
    if kind == "mutant" and not seen:
        names = ", ".join(f"{c.test} ({c.visibility})" for c in trial.caught_by)
        trial.warning = f"caught only by tests whose message the learner does not read when graded: {names}"
    return trial


# -- the whole exercise -------------------------------------------------------------------
def validate_exercise(exercise: Exercise, *, device: str = "cpu", render_page=None, sandbox=None,
                      scratch: Path | None = None) -> Validation:
    """`sandbox` (a mi_exercise.sandbox.Sandbox): run the solution, stub, mutants and alternatives
    inside it, with the content readable (they live there) and nothing else of the user's;
    overrides are composed in `scratch`."""
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
    from mi_exercise.catalog.checks import metadata_problems

    v.problems += [str(p) for p in metadata_problems(exercise)]  # [points]/[visibility] keys, stub vs solution
    for path in [*exercise.mutant_paths, *alternative_paths(exercise)]:
        if not described_change(path):
            what = "the mistake" if path.parent.name == "mutants" else "how it differs"
            v.problems.append(f"{path.parent.name}/{path.name} has no docstring whose first line says {what}")
    if render_page is not None and exercise.page_path.is_file():
        try:
            render_page(exercise)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            v.problems.append(f"page.md does not render: {exc}")
    if v.problems and (not exercise.grader_files or not exercise.solution_path.is_file()):
        v.seconds = time.monotonic() - start
        return v

    def box(path: Path):
        return sandbox_prefix(sandbox, path)

    # own_parts=False throughout: a solution, stub or override has no learner's earlier files beside
    # it, so the reference parts stand in for them (gpt2-your-model grades the learner's own)
    v.trials.append(judge(exercise, "solution", exercise.solution_path,
                          run_check(exercise, exercise.solution_path, device=device, own_parts=False,
                                    sandbox=box(exercise.solution_path))))
    if v.trials[0].problem:  # the grader itself is broken: nothing else can be judged by it
        v.problems.append("the grader could not grade the solution, so the stub, mutants and alternatives were not tried")
        v.seconds = time.monotonic() - start
        return v
    if exercise.stub_path.is_file():
        v.trials.append(judge(exercise, "stub", exercise.stub_path,
                              run_check(exercise, exercise.stub_path, device=device, own_parts=False,
                                        sandbox=box(exercise.stub_path))))
    for kind, paths in (("mutant", exercise.mutant_paths), ("alternative", alternative_paths(exercise))):
        for path in paths:
            v.trials.append(judge(exercise, kind, path, run_override(exercise, path, device=device, own_parts=False,
                                                                     sandbox=sandbox, scratch=scratch)))
    v.seconds = time.monotonic() - start
    return v


# -- the report -----------------------------------------------------------------------------
def summary_line(v: Validation) -> str:
    """One line for an exercise: what was tried and how much of it held."""
    parts = []
    for kind, word in (("solution", "solution"), ("stub", "stub"), ("mutant", "mutants rejected"),
                       ("alternative", "alternatives pass")):
        good, total = v.count(kind)
        if not total:
            continue
        if kind == "solution":
            solution = v.trials[0]
            parts.append("solution passes" if good else "grader problem" if solution.problem else "solution FAILS")
        elif kind == "stub":
            parts.append("stub rejected" if good else "stub NOT rejected")
        else:
            parts.append(f"{good}/{total} {word}")
    if v.problems:
        parts.append(f"{len(v.problems)} problem(s)")
    if v.warnings:
        parts.append(f"{len(v.warnings)} warning(s)")
    return f"{'ok  ' if v.ok else 'FAIL'} {v.exercise.slug}: {', '.join(parts) or 'nothing graded'} ({v.seconds:.1f}s)"


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line for line in text.rstrip().splitlines()] or [prefix]


def report_lines(v: Validation, *, verbose: bool = False) -> list[str]:
    """The text report of one exercise. Everything holds and not verbose: the summary line and
    any warnings. Otherwise every trial: its verdict, what it changes, the tests that caught it
    with their visibility, and each test's message (first line; in full with verbose)."""
    lines = [summary_line(v)]
    lines += [f"  problem: {p}" for p in v.problems]
    for t in v.trials:
        if t.warning and not verbose and t.ok:
            lines.append(f"  warning: {t.kind} {t.path.name}: {t.warning}")
    if v.ok and not verbose:
        return lines
    for t in v.trials:
        if t.ok and not verbose:
            continue  # details for what does not hold
        lines.append(f"  {'ok  ' if t.ok else 'FAIL'} {t.kind} {t.path.name}: {t.verdict}")
        if t.change:
            lines.append(f"       {'mistake' if t.kind == 'mutant' else 'differs'}: {t.change}")
        if t.problem:
            lines += _indent(t.problem, "       | ")  # in full: an import error's last line is its cause
            continue
        shown = t.caught_by if verbose or t.expected_to_pass else t.caught_by[:3]
        verb = "failed" if t.expected_to_pass else "caught by"
        for c in shown:
            lines.append(f"       {verb} {c.test} [{c.visibility}, {c.outcome}]")
            lines += _indent(c.message if verbose else _first_line(c.message), "         ")
            if verbose and c.visibility != "visible":
                lines.append(f"         (graded as a class, the learner reads only: {HIDDEN_MESSAGE})")
        if len(shown) < len(t.caught_by):
            rest = t.caught_by[len(shown):]
            lines.append(f"       and {len(rest)} more: " + ", ".join(f"{c.test} [{c.visibility}]" for c in rest)
                         + " (-v shows them)")
        if t.warning:
            lines.append(f"       warning: {t.warning}")
    return lines
