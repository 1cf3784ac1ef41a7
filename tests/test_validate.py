"""`validate`: the real grader passes its solution and rejects stub and mutants; a weak grader
or a broken page is caught. Mutants and alternatives are overrides of the solution, graded as
one module with it; the report says which tests caught each mutant, their visibility and the
learner's message.

Most tests use `tiny-counter`, an exercise made here in a temp content root: a function, a class
and a function that uses the class, so that every override form (function, whole class, one
method assigned onto the class) is exercised in a check of well under a second."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import copy_content, run_cli

SOLUTION = '''\
"""tiny-counter: the reference solution."""


def double(x: int) -> int:
    return 2 * x


class Counter:
    def __init__(self, start: int):
        self.n = start

    def step(self) -> int:
        self.n += 1
        return self.n


def count_to(start: int, k: int) -> int:
    counter = Counter(start)
    for _ in range(k):
        counter.step()
    return counter.n
'''

GRADER = '''\
from mi_exercise.grading import fail


def test_double(submission):
    for x in (0, 3, -4):
        got = submission.double(x)
        if got != 2 * x:
            fail(f"double({x}) returned {got}, expected {2 * x}")


def test_count_to(submission):
    for start, k in ((2, 3), (5, 1)):
        got = submission.count_to(start, k)
        if got != start + k:
            fail(f"count_to({start}, {k}) returned {got}, expected {start + k}\\nsecond line of the message")


def test_count_to_zero_steps(submission):
    got = submission.count_to(0, 0)
    if got != 0:
        fail(f"count_to(0, 0) returned {got}, expected 0")
'''

MUTANTS = {
    # a function override
    "triple.py": '''"""double multiplies by three."""


def double(x: int) -> int:
    return 3 * x
''',
    # a method defined and assigned onto the solution's class
    "step_by_two.py": '''"""Counter.step adds 2 instead of 1."""


def step(self) -> int:
    self.n += 2
    return self.n


Counter.step = step
''',
    # a whole class: count_to finds the new Counter when it runs
    "start_zero_as_one.py": '''"""Counter takes a start of 0 for no start and begins at 1
(`start or 1`)."""


class Counter:
    def __init__(self, start: int):
        self.n = start or 1

    def step(self) -> int:
        self.n += 1
        return self.n
''',
}

EXERCISE_TOML = '''\
slug = "tiny-counter"
title = "Tiny counter"
chapter = "foundations"
order = 99
summary = "A function, a class and a function using it."
prerequisites = []
hints = ["Add one."]

[limits]
test_seconds = 120  # the worker's start counts against the first test: generous on a busy machine
check_seconds = 600

[visibility]
default = "visible"
test_count_to_zero_steps = "hidden"
'''


@pytest.fixture
def tiny(tmp_path) -> Path:
    return make_tiny(tmp_path / "content")


def make_tiny(dest: Path) -> Path:
    """A content root with only tiny-counter in it (its grader, solution, three mutants)."""
    root = copy_content(dest, [])
    ex_dir, gr_dir = root / "exercises" / "foundations" / "tiny-counter", root / "graders" / "foundations" / "tiny-counter"
    ex_dir.mkdir(parents=True)
    (ex_dir / "exercise.toml").write_text(EXERCISE_TOML)
    (ex_dir / "page.md").write_text("# Tiny counter\n\nWrite `double`, `Counter` and `count_to`.\n")
    (ex_dir / "stub.py").write_text(
        "def double(x):\n    raise NotImplementedError('double')\n\n\n"
        "class Counter:\n    def __init__(self, start):\n        raise NotImplementedError('Counter')\n\n\n"
        "def count_to(start, k):\n    raise NotImplementedError('count_to')\n")
    (gr_dir / "mutants").mkdir(parents=True)
    (gr_dir / "solution.py").write_text(SOLUTION)
    (gr_dir / "test_tiny_counter.py").write_text(GRADER)
    for name, text in MUTANTS.items():
        (gr_dir / "mutants" / name).write_text(text)
    return root


def validate(root: Path, *args: str):
    return run_cli("validate", "tiny-counter", *args, env={"MI_EXERCISE_CONTENT": str(root)}, timeout=120)


def trials(result) -> dict[str, dict]:
    data = json.loads(result.stdout)["exercises"][0]
    return {t["file"]: t for t in data["trials"]}


def test_every_override_form_is_graded_with_the_solution_and_caught(tiny):
    result = validate(tiny, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    by_file = trials(result)
    caught = {f: [c["test"] for c in t["caught_by"]] for f, t in by_file.items()}
    # each override fails exactly the tests its change breaks: the rest of the solution is there
    assert caught["triple.py"] == ["test_double"]
    assert caught["step_by_two.py"] == ["test_count_to"]  # count_to(0, 0) takes no step
    assert caught["start_zero_as_one.py"] == ["test_count_to_zero_steps"]
    assert caught["solution.py"] == [] and by_file["solution.py"]["ok"]
    assert len(caught["stub.py"]) == 3
    assert by_file["triple.py"]["change"] == "double multiplies by three."
    assert by_file["start_zero_as_one.py"]["change"] == "Counter takes a start of 0 for no start and begins at 1 (`start or 1`)."


def test_the_matrix_says_who_caught_a_mutant_its_visibility_and_the_learners_message(tiny):
    data = json.loads(validate(tiny, "--json").stdout)["exercises"][0]
    by_file = {t["file"]: t for t in data["trials"]}
    step = by_file["step_by_two.py"]["caught_by"][0]
    assert step["visibility"] == "visible" and step["outcome"] == "failed"
    assert step["message"] == "count_to(2, 3) returned 8, expected 5\nsecond line of the message"
    assert step["learner_reads"] == step["message"]
    hidden = by_file["start_zero_as_one.py"]
    assert hidden["caught_by"][0]["visibility"] == "hidden"
    assert hidden["caught_by"][0]["learner_reads"] == "hidden test: details are not shown"
    assert "caught only by tests whose message the learner does not read" in hidden["warning"]
    assert not by_file["step_by_two.py"]["warning"]
    assert data["ok"] and len(data["warnings"]) == 1 and "start_zero_as_one.py" in data["warnings"][0]


def test_terse_when_everything_holds_full_messages_with_verbose(tiny):
    terse = validate(tiny)
    assert terse.returncode == 0, terse.stdout + terse.stderr
    lines = terse.stdout.strip().splitlines()
    assert lines[0].startswith("ok   tiny-counter: solution passes, stub rejected, 3/3 mutants rejected")
    assert lines[1].startswith("  warning: mutant start_zero_as_one.py: caught only by")  # a warning, not a failure
    assert "caught by" not in terse.stdout and "1/1 exercises valid; 1 warning(s)" in terse.stdout
    verbose = validate(tiny, "-v").stdout
    assert "caught by test_count_to [visible, failed]" in verbose
    assert "second line of the message" in verbose  # the whole message, not its first line
    assert "mistake: Counter.step adds 2 instead of 1." in verbose
    assert "caught by test_count_to_zero_steps [hidden, failed]" in verbose
    assert "…" not in verbose and "..." not in verbose


def test_a_mutant_the_grader_misses_fails_with_details(tiny):
    gr = tiny / "graders" / "foundations" / "tiny-counter"
    (gr / "mutants" / "harmless.py").write_text('"""double written as x + x: the same function."""\n\n\n'
                                                "def double(x):\n    return x + x\n")
    result = validate(tiny)
    assert result.returncode == 1
    assert "FAIL tiny-counter: solution passes, stub rejected, 3/4 mutants rejected" in result.stdout
    assert "FAIL mutant harmless.py: NOT rejected: the grader passes all 3 tests" in result.stdout
    assert "mistake: double written as x + x: the same function." in result.stdout
    assert "triple.py" not in result.stdout  # what holds is not detailed


def test_a_mutant_that_does_not_import_is_broken_not_rejected(tiny):
    gr = tiny / "graders" / "foundations" / "tiny-counter"
    (gr / "mutants" / "typo.py").write_text('"""Counter.step assigned from a misspelt name."""\n\n\nCounter.step = stepp\n')
    result = validate(tiny)
    assert result.returncode == 1
    assert "FAIL mutant typo.py: BROKEN: solution + this override cannot be imported" in result.stdout
    assert "NameError: name 'stepp' is not defined" in result.stdout


def test_a_correct_alternative_the_grader_rejects_fails_validation(tiny):
    gr = tiny / "graders" / "foundations" / "tiny-counter"
    (gr / "alternatives").mkdir()
    (gr / "alternatives" / "sum_of_steps.py").write_text(textwrap.dedent('''\
        """count_to without a Counter: start plus k."""


        def count_to(start, k):
            return start + k
        '''))
    good = validate(tiny, "--json")
    assert good.returncode == 0, good.stdout
    alt = trials(good)["sum_of_steps.py"]
    assert alt["kind"] == "alternative" and alt["ok"] and alt["change"] == "count_to without a Counter: start plus k."
    # a grader that asks more than the task does: what count_to does with a negative k
    (gr / "test_tiny_counter.py").write_text(GRADER + textwrap.dedent('''

        def test_count_to_negative(submission):
            got = submission.count_to(2, -1)
            if got != 2:
                fail(f"count_to(2, -1) returned {got}, expected 2")
        '''))
    bad = validate(tiny)
    assert bad.returncode == 1, bad.stdout
    assert "solution passes, stub rejected, 3/3 mutants rejected, 0/1 alternatives pass" in bad.stdout
    assert "FAIL alternative sum_of_steps.py: FAILS 1 of 4 tests\n" in bad.stdout
    assert "failed test_count_to_negative [visible, failed]" in bad.stdout
    assert "count_to(2, -1) returned 1, expected 2" in bad.stdout


def test_a_grader_that_cannot_be_imported_shows_its_error_in_full(tiny):
    gr = tiny / "graders" / "foundations" / "tiny-counter"
    (gr / "test_tiny_counter.py").write_text("import no_such_module_for_validate\n" + GRADER)
    result = validate(tiny)
    assert result.returncode == 1
    assert "FAIL tiny-counter: grader problem, " in result.stdout
    assert "FAIL solution solution.py: grader problem\n       | the grader could not be loaded:\n" in result.stdout
    assert "       | E   ModuleNotFoundError: No module named 'no_such_module_for_validate'\n" in result.stdout
    assert "the stub, mutants and alternatives were not tried" in result.stdout
    assert "triple.py" not in result.stdout  # not judged by a grader that cannot load


def test_validate_tensor_basics(cli):
    result = cli("validate", "tensor-basics", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)["exercises"][0]
    kinds = [t["kind"] for t in data["trials"]]
    assert kinds.count("solution") == 1 and kinds.count("stub") == 1 and kinds.count("mutant") >= 3
    assert kinds.count("alternative") >= 1
    assert all(t["ok"] for t in data["trials"])


def test_a_broken_page_fails_validation(cli, content):
    page = content / "exercises" / "foundations" / "tensor-basics" / "page.md"
    page.write_text("# Title\n\nLine two\n{{ not_defined_anywhere }}\n")
    result = run_cli("validate", "tensor-basics", env={"MI_EXERCISE_CONTENT": str(content)})
    assert result.returncode == 1
    assert "page.md" in result.stdout and "line 4" in result.stdout


def test_validate_needs_a_target(cli):
    assert cli("validate").returncode == 2
    assert cli("validate", "no-such-exercise").returncode == 2
