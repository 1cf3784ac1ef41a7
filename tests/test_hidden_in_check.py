"""Hidden tests are hidden in `check` too (issue 17, item 4): name and outcome, never the
message (it names inputs and expected values) or the output, in the terminal and in --json."""

from __future__ import annotations

import json

from conftest import REPO, copy_content, run_cli

SOLUTION = (REPO / "graders/foundations/tensor-basics/solution.py").read_text()
BIASED = SOLUTION.replace("x.std(dim=0, unbiased=False)", "x.std(dim=0)")  # normalize_columns wrong
WRONG_MEANS = BIASED.replace("def row_means(x: torch.Tensor) -> torch.Tensor:\n    return x.mean(dim=-1)",
                             "def row_means(x: torch.Tensor) -> torch.Tensor:\n    print('SECRET-OUTPUT')\n    return x.mean(dim=0)")
assert SOLUTION != BIASED != WRONG_MEANS


def test_check_shows_a_hidden_test_by_name_only(tmp_path):
    root = copy_content(tmp_path / "content", ["tensor-basics"])
    toml = root / "exercises/foundations/tensor-basics/exercise.toml"
    toml.write_text(toml.read_text() + '\n[visibility]\ntest_normalize_columns = "hidden"\ntest_row_means = "after_due_date"\n')
    env = {"MI_EXERCISE_CONTENT": str(root)}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    (ws / "00-foundations/tensor_basics.py").write_text(WRONG_MEANS)

    shown = run_cli("check", "tensor-basics", "-v", cwd=ws, env=env)
    assert shown.returncode == 1, shown.stdout + shown.stderr
    out = shown.stdout
    assert "test_normalize_columns" in out and "test_row_means" in out
    assert "normalize_columns(" not in out and "row_means(" not in out, out  # the messages name the calls
    assert "SECRET-OUTPUT" not in out
    assert "2 hidden test(s): messages not shown" in out

    as_json = run_cli("check", "tensor-basics", "--json", cwd=ws, env=env)
    data = json.loads(as_json.stdout)["results"][0]
    tests = {t["name"]: t for t in data["tests"]}
    assert tests["test_normalize_columns"]["outcome"] == "failed" and tests["test_normalize_columns"]["message"] == ""
    assert tests["test_row_means"]["output"] == "" and tests["test_row_means"]["visibility"] == "after_due_date"
    assert data["hidden_not_shown"] == 2
    assert "normalize_columns(" not in as_json.stdout and "SECRET-OUTPUT" not in as_json.stdout

    # a visible failure still says what differs
    toml.write_text(toml.read_text().replace('test_normalize_columns = "hidden"', 'test_normalize_columns = "visible"'))
    again = run_cli("check", "tensor-basics", cwd=ws, env=env)
    assert "normalize_columns(" in again.stdout and "1 hidden test(s): messages not shown" in again.stdout
