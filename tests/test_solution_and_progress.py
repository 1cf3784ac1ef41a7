"""`mi-exercise solution SLUG` through the real CLI, and `progress` showing the latest attempt
beside the best."""

from __future__ import annotations

import json

from tests.conftest import REPO, solution_text

LEARNER = "00-foundations/tensor_basics.py"
SOLUTION = REPO / "graders" / "foundations" / "tensor-basics" / "solution.py"


def progress_row(cli, ws, slug="tensor-basics") -> dict:
    data = json.loads(cli("progress", "--json", cwd=ws).stdout)
    return next(e for c in data["chapters"] for e in c["exercises"] if e["slug"] == slug)


def test_solution_before_a_pass_asks_and_is_recorded(cli, workspace):
    refused = cli("solution", "tensor-basics", cwd=workspace)  # no terminal, no --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr and refused.stdout == ""
    assert progress_row(cli, workspace)["solution_seen"] is None

    declined = cli("solution", "tensor-basics", cwd=workspace, input="n\n")
    assert declined.returncode == 2  # stdin is not a terminal: refused before asking
    shown = cli("solution", "tensor-basics", "--yes", cwd=workspace)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == SOLUTION.read_text()  # plain when piped: exactly the file, no markup
    assert progress_row(cli, workspace)["solution_seen"] == "before passing"
    text = cli("progress", cwd=workspace).stdout
    assert "solution seen before passing" in text
    # shown by the CLI only: nothing of it lands in the workspace
    assert not any(p.read_bytes() == SOLUTION.read_bytes() for p in workspace.rglob("*.py"))


def test_solution_after_a_pass_is_shown_at_once(cli, workspace):
    (workspace / LEARNER).write_text(solution_text("foundations", "tensor-basics"))
    assert cli("check", "tensor-basics", cwd=workspace).returncode == 0
    shown = cli("solution", "tensor-basics", cwd=workspace)
    assert shown.returncode == 0 and shown.stdout == SOLUTION.read_text()
    assert progress_row(cli, workspace)["solution_seen"] == "after passing"


def test_solution_usage_errors_exit_2(cli, workspace, tmp_path):
    unknown = cli("solution", "tensor-basic", cwd=workspace)
    assert unknown.returncode == 2 and "unknown exercise" in unknown.stderr and "tensor-basics" in unknown.stderr
    elsewhere = cli("solution", "tensor-basics", "--yes", cwd=tmp_path)
    assert elsewhere.returncode == 2 and "workspace" in elsewhere.stderr


def test_progress_shows_the_latest_attempt_beside_the_best(cli, workspace):
    (workspace / LEARNER).write_text(solution_text("foundations", "tensor-basics"))
    assert cli("check", "tensor-basics", cwd=workspace).returncode == 0
    (workspace / LEARNER).write_text("def broken(:\n")  # broken since the pass
    assert cli("check", "tensor-basics", cwd=workspace).returncode == 1
    row = progress_row(cli, workspace)
    assert row["status"] == "passed" and row["best_tests_passed"] == row["tests_total"]
    assert row["latest_status"] == "failed" and row["latest_tests_passed"] == 0
    line = next(l for l in cli("progress", cwd=workspace).stdout.splitlines() if "tensor-basics" in l and "attempt" in l)
    assert f"best {row['tests_total']}/{row['tests_total']} tests" in line and f"latest: 0/{row['tests_total']} failed" in line


def test_on_a_terminal_it_asks_first(workspace):
    """Through a pseudo-terminal (util-linux `script`): no is not recorded; yes shows it highlighted."""
    import os
    import shutil
    import subprocess
    import sys

    import pytest

    if shutil.which("script") is None:
        pytest.skip("util-linux `script` is not installed")
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    command = f"{sys.executable} -m mi_exercise solution tensor-basics"

    def on_tty(answer: str):
        return subprocess.run(["script", "-qec", command, "/dev/null"], cwd=workspace, env=env, input=answer,
                              capture_output=True, text=True, timeout=120)

    no = on_tty("n\n")
    assert no.returncode == 1 and "Show the whole reference solution?" in no.stdout and "Aborted" in no.stdout
    from mi_exercise.progress.store import ProgressStore

    store = ProgressStore(workspace / ".mi-exercise" / "progress.db")
    assert store.solution_seen("tensor-basics") is None
    yes = on_tty("y\n")
    assert yes.returncode == 0 and "Reference solution for tensor-basics" in yes.stdout and "\x1b[" in yes.stdout
    assert store.solution_seen("tensor-basics") == "before passing"
