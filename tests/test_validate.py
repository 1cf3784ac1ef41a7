"""`validate`: the real grader passes its solution and rejects stub and mutants; a weak grader
or a broken page is caught."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def test_validate_tensor_basics(cli):
    result = cli("validate", "tensor-basics", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)["exercises"][0]
    kinds = [t["kind"] for t in data["trials"]]
    assert kinds.count("solution") == 1 and kinds.count("stub") == 1 and kinds.count("mutant") >= 3
    assert all(t["ok"] for t in data["trials"])


def test_a_mutant_the_grader_misses_fails_validation(cli, content):
    grader = content / "graders" / "foundations" / "tensor-basics"
    (grader / "mutants" / "harmless.py").write_text((grader / "solution.py").read_text())
    page = content / "exercises" / "foundations" / "tensor-basics" / "page.md"
    page.write_text("# Title\n\nLine two\n{{ not_defined_anywhere }}\n")
    result = run_cli("validate", "tensor-basics", env={"MI_EXERCISE_CONTENT": str(content)})
    assert result.returncode == 1
    assert "harmless.py" in result.stdout and "NOT rejected" in result.stdout
    assert "page.md" in result.stdout and "line 4" in result.stdout


def test_validate_needs_a_target(cli):
    assert cli("validate").returncode == 2
    assert cli("validate", "no-such-exercise").returncode == 2
