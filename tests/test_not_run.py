"""A test the grader does not run (pytest.skip on a fact of the grading machine, such as GPT-2's
weights not being cached) is neither a pass nor a failure: the check passes with a line saying
what was not run and why, progress records a pass, --json and `grade` agree, and a not-run
test is out of the points (max_points excludes it)."""

from __future__ import annotations

import json

from tests.conftest import run_cli, solution_text

SKIPPING_TEST = '''
import pytest


def test_needs_weights_this_machine_lacks():
    pytest.skip("GPT-2 small's weights are not cached on this machine; fetch them once to run this test")
'''


def _content_with_a_skipping_test(content):
    grader = content / "graders" / "foundations" / "tensor-basics"
    (grader / "test_zz_not_run.py").write_text(SKIPPING_TEST)
    return {"MI_EXERCISE_CONTENT": str(content)}


def test_a_not_run_test_does_not_fail_the_check(content, tmp_path):
    env = _content_with_a_skipping_test(content)
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    (ws / "00-foundations" / "tensor_basics.py").write_text(solution_text("foundations", "tensor-basics"))

    shown = run_cli("check", "tensor-basics", cwd=ws, env=env)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "✓ tensor-basics" in shown.stdout and "1 not run" in shown.stdout
    assert "test_needs_weights_this_machine_lacks  not run (not counted)" in shown.stdout
    assert "weights are not cached on this machine" in shown.stdout

    data = json.loads(run_cli("check", "tensor-basics", "--json", cwd=ws, env=env).stdout)
    result = data["results"][0]
    assert data["passed"] and result["passed"] and result["status"] == "passed"
    assert result["tests_not_run"] == 1 and result["tests_passed"] == result["tests_total"] - 1
    assert result["points"] == result["max_points"] > 0  # the not-run test is out of max_points

    progress = json.loads(run_cli("progress", "--json", cwd=ws, env=env).stdout)
    row = next(e for c in progress["chapters"] for e in c["exercises"] if e["slug"] == "tensor-basics")
    assert row["status"] == "passed" and progress["history"][0]["status"] == "passed"

    # the stub still fails: a not-run test never turns failures into a pass
    (ws / "00-foundations" / "tensor_basics.py").write_text((content / "exercises" / "foundations" / "tensor-basics"
                                                            / "stub.py").read_text())
    assert run_cli("check", "tensor-basics", cwd=ws, env=env).returncode == 1


def test_grade_scores_a_not_run_test_as_out_of_the_total(content, tmp_path):
    env = _content_with_a_skipping_test(content)
    sub = tmp_path / "subs" / "alice"
    sub.mkdir(parents=True)
    (sub / "tensor_basics.py").write_text(solution_text("foundations", "tensor-basics"))
    out = tmp_path / "out"
    graded = run_cli("grade", str(sub), "--out", str(out), "--jobs", "1", env=env)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    rec = json.loads((out / "submissions" / "alice" / "result.json").read_text())
    ex = rec["exercises"][0]
    line = next(t for t in ex["tests"] if t["name"] == "test_needs_weights_this_machine_lacks")
    assert line["outcome"] == "not run" and line["max_score"] == 0 and line["score"] == 0
    assert ex["passed"] and rec["score"] == rec["max_score"] > 0
    junit = (out / "submissions" / "alice" / "junit.xml").read_text()
    assert 'skipped="1"' in junit and "<skipped" in junit and "<failure" not in junit


def test_check_time_used_up_is_a_failure_not_a_not_run():
    from mi_exercise.runner.outcomes import CheckTimeExceeded, Outcome

    assert CheckTimeExceeded("the check's time limit was used up").outcome is Outcome.TIMEOUT
