"""Metadata checked against the grader and the solution (issue 17, item 4): misspelled
[points]/[visibility] keys, per-case points, a stub that does not match the solution."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import REPO, copy_content

from mi_exercise.catalog.checks import metadata_problems, stub_problems, unknown_test_keys
from mi_exercise.catalog.loader import load_catalog
from mi_exercise.instructor.batch import expected_tests

PARAMETRIZED = '''

import pytest


@pytest.mark.parametrize("case", ["small", "large"])
def test_grid_cases(submission, case):
    rows, cols = (2, 3) if case == "small" else (40, 50)
    assert tuple(submission.arange_grid(rows, cols).shape) == (rows, cols), f"arange_grid({rows}, {cols}) has the wrong shape"
'''


@pytest.fixture(autouse=True)
def fresh_grader_modules():
    """pytest's importlib mode reuses a module of the same name from sys.modules: each test
    here collects its own copy of the grader, so none may see another test's copy."""
    yield
    for name in [n for n in sys.modules if n.startswith("test_tensor_basics")]:
        del sys.modules[name]


def _course(tmp_path: Path, toml_extra: str = "", grader_extra: str = "") -> Path:
    root = copy_content(tmp_path / "content", ["tensor-basics"])
    toml = root / "exercises/foundations/tensor-basics/exercise.toml"
    toml.write_text(toml.read_text() + toml_extra)
    grader = root / "graders/foundations/tensor-basics/test_tensor_basics.py"
    grader.write_text(grader.read_text() + grader_extra)
    return root


def _exercise(root: Path):
    return load_catalog(root).get("tensor-basics")


def test_misspelled_points_and_visibility_keys_are_named_with_a_suggestion(tmp_path):
    root = _course(tmp_path, '\n[visibility]\ntest_select_row = "hidden"\n')
    toml = root / "exercises/foundations/tensor-basics/exercise.toml"
    toml.write_text(toml.read_text().replace("test_inplace_vs_copy = 2", "test_inplace_vs_cpy = 2"))
    ex = _exercise(root)
    problems = unknown_test_keys(ex, expected_tests(ex))
    text = "\n".join(map(str, problems))
    assert len(problems) == 2, text
    assert "exercise.toml: points.test_inplace_vs_cpy: no test of that name" in text
    assert "did you mean 'test_inplace_vs_copy'?" in text
    assert "visibility.test_select_row" in text and "'test_select_rows'" in text


def test_the_shipped_course_has_no_metadata_problems():
    catalog = load_catalog(REPO)
    for slug in ("tensor-basics", "einops-rearrange-reduce-repeat", "backprop", "training"):
        assert metadata_problems(catalog.get(slug)) == [], slug


def test_per_case_points_and_visibility_work_and_unknown_cases_are_named(tmp_path):
    root = _course(tmp_path, "", PARAMETRIZED)
    toml = root / "exercises/foundations/tensor-basics/exercise.toml"
    toml.write_text(toml.read_text().replace("[points]\n", '[points]\n"test_grid_cases[large]" = 5\n"test_grid_cases[huge]" = 3\n'))
    ex = _exercise(root)
    ids = expected_tests(ex)
    assert "test_grid_cases[large]" in ids
    assert ex.points_for("test_grid_cases[large]") == 5 and ex.points_for("test_grid_cases[small]") == 1
    problems = [str(p) for p in unknown_test_keys(ex, ids)]
    assert len(problems) == 1 and "points.test_grid_cases[huge]: no such parametrized case" in problems[0], problems
    assert "test_grid_cases[large], test_grid_cases[small]" in problems[0]
    unparametrized = ex.__class__(**{**ex.__dict__, "points": {"test_row_means[x]": 2}})
    assert "test_row_means is not parametrized" in str(unknown_test_keys(unparametrized, ids)[0])

    from mi_exercise.runner.check import run_check

    result = run_check(ex, ex.solution_path, device="cpu")
    assert result.passed, [t.to_dict() for t in result.tests]
    by_name = {t.name: t for t in result.tests}
    assert by_name["test_grid_cases[large]"].max_points == 5 and by_name["test_grid_cases[large]"].points == 5
    assert by_name["test_grid_cases[small]"].max_points == 1
    assert result.max_points == 11 + 2 + 5 + 1  # 11 tests (two of them worth 2) plus the two cases


def test_stub_missing_a_function_or_with_a_renamed_parameter_is_reported(tmp_path):
    root = _course(tmp_path)
    stub = root / "exercises/foundations/tensor-basics/stub.py"
    text = stub.read_text()
    text = text.replace("def outer_sum(a: torch.Tensor, b: torch.Tensor)", "def outer_sum(a: torch.Tensor, c: torch.Tensor)")
    start = text.index("def row_means(")
    end = text.index("def ", start + 1)
    stub.write_text(text[:start] + text[end:])
    problems = [str(p) for p in stub_problems(_exercise(root))]
    assert len(problems) == 2, problems
    assert any("outer_sum: parameters (a, c) but the solution has (a, b)" in p for p in problems), problems
    assert any(p.startswith("stub.py: row_means: the solution defines function row_means") for p in problems), problems


def test_defaults_kinds_and_methods_are_compared(tmp_path):
    stub, solution = tmp_path / "stub.py", tmp_path / "solution.py"
    solution.write_text("class Net:\n    def __init__(self, d, *, bias=True, _cache=None):\n        pass\n"
                        "    def forward(self, x):\n        pass\n    def _helper(self):\n        pass\n"
                        "def helper_the_grader_never_names():\n    pass\n")
    stub.write_text("class Net:\n    def __init__(self, d, bias=False):\n        pass\n")

    class Ex:  # stub_problems reads only these paths
        stub_path, solution_path, grader_files = stub, solution, []

    problems = [str(p) for p in stub_problems(Ex())]
    assert len(problems) == 2, problems
    assert "stub.py: Net.__init__: 'bias' is positional = False in the stub, keyword-only = True in the solution" in problems
    assert any(p.startswith("stub.py: Net.forward: the solution's Net defines forward") for p in problems)


def test_validate_fails_on_a_metadata_problem(tmp_path, monkeypatch):
    root = _course(tmp_path)
    toml = root / "exercises/foundations/tensor-basics/exercise.toml"
    toml.write_text(toml.read_text().replace("test_inplace_vs_copy = 2", "test_inplace_vs_cpy = 2"))
    import mi_exercise.validate as validate

    from mi_exercise.runner.check import CheckResult

    def no_run(exercise, path, device="cpu", **_):  # the trials are not what this test is about
        return CheckResult(exercise.slug, str(path), device, problem="not run in this test")

    monkeypatch.setattr(validate, "run_check", no_run)
    v = validate.validate_exercise(_exercise(root))
    assert not v.ok
    assert any("points.test_inplace_vs_cpy" in p for p in v.problems), v.problems


def test_grade_refuses_a_misspelled_key_before_grading_anyone(tmp_path):
    from conftest import run_cli

    root = _course(tmp_path, '\n[visibility]\ntest_normalise_columns = "hidden"\n')
    sub = tmp_path / "alice" / "00-foundations"
    sub.mkdir(parents=True)
    (sub / "tensor_basics.py").write_text((REPO / "graders/foundations/tensor-basics/solution.py").read_text())
    r = run_cli("grade", str(tmp_path / "alice"), "--out", str(tmp_path / "out"), env={"MI_EXERCISE_CONTENT": str(root)})
    assert r.returncode == 2, r.stdout + r.stderr
    assert "visibility.test_normalise_columns" in r.stderr and "'test_normalize_columns'" in r.stderr
    assert not (tmp_path / "out" / "submissions").exists()
