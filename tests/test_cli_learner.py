"""The learner's loop through the real CLI: init, list, check, hint, progress, reset."""

from __future__ import annotations

import json

from tests.conftest import solution_text

LEARNER = "00-foundations/tensor_basics.py"


def test_init_lays_out_stubs_and_never_overwrites(cli, workspace):
    learner = workspace / LEARNER
    assert learner.is_file() and (workspace / ".mi-exercise" / "progress.db").is_file()
    learner.write_text("# my work\n")
    again = cli("init", str(workspace))
    assert again.returncode == 0
    assert learner.read_text() == "# my work\n"
    assert "0 stub(s) added" in again.stdout


def test_list_json_has_slug_chapter_title_status(cli, workspace):
    result = cli("list", "--json", cwd=workspace)
    assert result.returncode == 0
    data = json.loads(result.stdout)
    first = data["exercises"][0]
    assert {"slug", "chapter", "title", "status"} <= set(first)
    assert first["slug"] == "tensor-basics" and first["status"] == "not started"


def test_stub_fails_solution_passes_and_progress_is_recorded(cli, workspace):
    stub = cli("check", "tensor-basics", cwd=workspace / "00-foundations")  # found from a subfolder
    assert stub.returncode == 1
    assert "not implemented yet (arange_grid)" in stub.stdout
    (workspace / LEARNER).write_text(solution_text("foundations", "tensor-basics"))
    good = cli("check", "tensor-basics", "--json", cwd=workspace)
    assert good.returncode == 0, good.stdout + good.stderr
    data = json.loads(good.stdout)["results"][0]
    assert data["passed"] and data["tests_passed"] == data["tests_total"] >= 8
    assert data["points"] == data["max_points"]
    progress = json.loads(cli("progress", "--json", cwd=workspace).stdout)
    assert [a["status"] for a in progress["history"]] == ["passed", "failed"]
    foundations = progress["chapters"][0]
    assert foundations["exercises"][0]["status"] == "passed"
    listing = json.loads(cli("list", "--json", cwd=workspace).stdout)
    assert listing["exercises"][0]["status"] == "passed"


def test_check_without_arguments_checks_the_next_exercise(cli, workspace):
    result = cli("check", cwd=workspace)
    assert result.returncode == 1
    assert "tensor-basics" in result.stdout


def test_one_wrong_function_is_named_precisely(cli, workspace):
    text = solution_text("foundations", "tensor-basics").replace(
        "return a[:, None] + b[None, :]", "return b[:, None] + a[None, :]")
    (workspace / LEARNER).write_text(text)
    result = cli("check", "tensor-basics", cwd=workspace)
    assert result.returncode == 1
    assert "test_outer_sum" in result.stdout
    assert "shape differs: expected (3, 5), got (5, 3)" in result.stdout
    assert "transpose" in result.stdout
    assert "test_row_means" not in result.stdout  # passing tests stay quiet without -v


def test_hints_go_in_order_and_are_recorded(cli, workspace):
    first = cli("hint", "tensor-basics", cwd=workspace)
    second = cli("hint", "tensor-basics", cwd=workspace)
    assert "Hint 1/4" in first.stdout and "Hint 2/4" in second.stdout
    for _ in range(3):
        last = cli("hint", "tensor-basics", cwd=workspace)
    assert "All 4 hints" in last.stdout
    progress = json.loads(cli("progress", "--json", cwd=workspace).stdout)
    assert progress["chapters"][0]["exercises"][0]["hints_used"] == 4
    # hints are printed as text, not rich markup: shapes in brackets survive
    assert "(blocks.L.attn.hook_z, [batch, pos, n_heads, d_head])" in cli("hint", "head-ablation", cwd=workspace).stdout


def test_reset_asks_then_keeps_a_backup(cli, workspace):
    learner = workspace / LEARNER
    learner.write_text("def arange_grid(r, c):\n    return 'mine'\n")
    refused = cli("reset", "tensor-basics", cwd=workspace, input="n\n")
    assert refused.returncode != 0
    assert "mine" in learner.read_text()
    done = cli("reset", "tensor-basics", "--yes", cwd=workspace)
    assert done.returncode == 0
    assert "NotImplementedError" in learner.read_text()
    backups = list((workspace / ".mi-exercise" / "backups").glob("tensor_basics.*.py"))
    assert len(backups) == 1 and "mine" in backups[0].read_text()


def test_usage_and_configuration_errors_exit_2_without_a_progress_row(cli, workspace, tmp_path):
    unknown = cli("check", "tensor-basic", cwd=workspace)
    assert unknown.returncode == 2
    assert "unknown exercise 'tensor-basic'" in unknown.stderr and "tensor-basics" in unknown.stderr
    nowhere = cli("check", "tensor-basics", cwd=tmp_path)
    assert nowhere.returncode == 2 and "no mi-exercise workspace" in nowhere.stderr
    bad_flag = cli("check", "--devices", "cpu", cwd=workspace)
    assert bad_flag.returncode == 2
    bad_device = cli("check", "--device", "tpu", cwd=workspace)
    assert bad_device.returncode == 2
    no_cuda = cli("check", "tensor-basics", "--device", "cuda", cwd=workspace)
    assert no_cuda.returncode == 2 and "CUDA" in no_cuda.stderr
    (workspace / LEARNER).unlink()
    missing = cli("check", "tensor-basics", cwd=workspace)
    assert missing.returncode == 2 and "missing" in missing.stderr
    for result in (unknown, nowhere, missing, no_cuda):
        assert "Traceback" not in result.stderr
    progress = json.loads(cli("progress", "--json", cwd=workspace).stdout)
    assert progress["history"] == []


def test_a_fix_saved_within_the_same_second_is_graded_fresh(cli, workspace):
    # Python reuses a .pyc when size and mtime (whole seconds) match: a one-character fix must
    # still be graded as written, and the workspace gets no __pycache__.
    import os

    learner = workspace / LEARNER
    right = solution_text("foundations", "tensor-basics")
    wrong = right.replace("return a[:, None] + b[None, :]", "return a[:, None] - b[None, :]")
    assert len(wrong) == len(right)
    learner.write_text(wrong)
    stamp = learner.stat().st_mtime_ns
    assert cli("check", "tensor-basics", cwd=workspace).returncode == 1
    learner.write_text(right)
    os.utime(learner, ns=(stamp, stamp))
    again = cli("check", "tensor-basics", cwd=workspace)
    assert again.returncode == 0, again.stdout
    assert not list(workspace.rglob("__pycache__"))
