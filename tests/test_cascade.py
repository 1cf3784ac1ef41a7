"""A failing test that runs a part which already failed its own test says so (one bug, said where
it is): the plugin reads the grader's @pytest.mark.uses(fn="test_fn") marker."""

from __future__ import annotations

import json

from tests.conftest import run_cli, solution_text

CASCADE = '''
import pytest


def test_zz_part():
    assert False, "the part is wrong"


@pytest.mark.uses(row_means="test_zz_part", outer_sum="test_outer_sum")
def test_zz_whole():
    assert False, "the whole is wrong"


@pytest.mark.uses(outer_sum="test_outer_sum")
def test_zz_whole_of_passing_parts():
    assert False, "the whole is wrong on its own"
'''


def test_a_failure_names_the_failed_part_it_used(content, tmp_path):
    (content / "graders" / "foundations" / "tensor-basics" / "test_zz_cascade.py").write_text(CASCADE)
    env = {"MI_EXERCISE_CONTENT": str(content)}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    (ws / "00-foundations" / "tensor_basics.py").write_text(solution_text("foundations", "tensor-basics"))
    result = run_cli("check", "tensor-basics", "--json", cwd=ws, env=env)
    tests = {t["name"]: t for t in json.loads(result.stdout)["results"][0]["tests"]}
    whole = tests["test_zz_whole"]["message"]
    assert whole.startswith("the whole is wrong")
    assert "This test runs your row_means (which failed test_zz_part): fix that first" in whole
    assert "outer_sum" not in whole  # its test passed: not blamed
    assert "This test runs" not in tests["test_zz_whole_of_passing_parts"]["message"]
    assert "This test runs" not in tests["test_zz_part"]["message"]
