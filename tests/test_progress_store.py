"""The SQLite progress store under concurrent checks and a kill in the middle of writing."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

from tests.conftest import run_cli


def test_two_checks_at_once_both_recorded(workspace):
    env = {}
    procs = [subprocess.Popen([sys.executable, "-m", "mi_exercise", "check", "tensor-basics", "--json"],
                              cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 1, err
        assert json.loads(out)["results"][0]["tests_total"] >= 8
    progress = json.loads(run_cli("progress", "--json", cwd=workspace, env=env).stdout)
    assert len(progress["history"]) == 2
    db = sqlite3.connect(workspace / ".mi-exercise" / "progress.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


WRITER = r'''
import sys, time
from dataclasses import dataclass, field
from mi_exercise.progress.store import ProgressStore
from mi_exercise.runner.outcomes import Outcome
from mi_exercise.runner.plugin import TestResult
from mi_exercise.runner.check import CheckResult

store = ProgressStore(sys.argv[1])
tests = [TestResult(f"test_{i}", Outcome.FAILED, "x" * 5000, 0.1, 0, 1) for i in range(200)]
print("ready", flush=True)
n = 0
while True:
    store.record_attempt(CheckResult(slug="tensor-basics", learner_file="f", device="cpu", tests=tests, seconds=1.0))
    n += 1
'''


def test_a_check_killed_mid_write_leaves_the_store_consistent(tmp_path):
    db_path = tmp_path / "progress.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT tests_total, outcomes FROM attempts").fetchall()
    assert rows, "the writer should have committed some attempts before the kill"
    for total, outcomes in rows:  # every row is whole: no half-written attempt
        assert total == 200 and len(json.loads(outcomes)) == 200


# -- progress that survives: a missing or damaged store is restored, never a traceback ---------
import pytest  # noqa: E402

from tests.conftest import solution_text  # noqa: E402


@pytest.fixture
def passed_once(tmp_path):
    """A workspace with tensor-basics passed (checked for real) and a hint taken, its own data folder."""
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    (ws / "00-foundations" / "tensor_basics.py").write_text(solution_text("foundations", "tensor-basics"))
    assert run_cli("check", "tensor-basics", cwd=ws, env=env).returncode == 0
    assert run_cli("hint", "tensor-basics", cwd=ws, env=env).returncode == 0
    return ws, env


def progress_of(ws, env):
    result = run_cli("progress", "--json", cwd=ws, env=env)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout), result.stderr


def damage_pages(path):
    """Overwrite the middle of the file: SQLite opens it but its integrity check fails."""
    data = bytearray(path.read_bytes())
    for i in range(4096 + 100, min(len(data), 4096 * 3), 7):
        data[i] = 0xA5
    path.write_bytes(bytes(data))


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["delete the file", "delete the folder", "not a database", "damaged pages"])
def test_a_lost_or_damaged_store_is_restored_from_the_last_good_copy(passed_once, damage):
    ws, env = passed_once
    state = ws / ".mi-exercise"
    db = state / "progress.db"
    with sqlite3.connect(db) as con:  # fold the WAL in, so the damage hits the real pages
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "delete the file":
        for f in state.glob("progress.db*"):
            f.unlink()
    elif damage == "delete the folder":
        import shutil

        shutil.rmtree(state)
    elif damage == "not a database":
        db.write_bytes(b"this is not a database, it is a learner's prank\n" * 200)
    else:
        with sqlite3.connect(db) as con:  # enough rows to span pages
            con.executemany("INSERT INTO hints VALUES (?, ?, 'x')", [(f"pad-{i}" * 20, i) for i in range(300)])
        damage_pages(db)
    data, err = progress_of(ws, env)
    lines = [line for line in err.splitlines() if line.startswith("mi-exercise:")]
    assert len(lines) == 1 and "restored your progress from the last good copy" in lines[0], err
    assert data["passed"] == 1 and len(data["history"]) == 1
    again, err2 = progress_of(ws, env)  # restored for good: no message the second time
    assert again["passed"] == 1 and "restored" not in err2
    hint = run_cli("hint", "tensor-basics", cwd=ws, env=env)  # the hint taken before the damage is remembered
    assert hint.returncode == 0 and "Hint 2/" in hint.stdout, hint.stdout + hint.stderr


@pytest.mark.slow
def test_a_damaged_store_without_a_copy_says_so_and_starts_again(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    (ws / ".mi-exercise" / "progress.db").write_bytes(b"garbage" * 100)
    for command in (["progress"], ["list"], ["hint", "tensor-basics"]):
        result = run_cli(*command, cwd=ws, env=env)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (command, result.stderr)
    first = run_cli("progress", cwd=ws, env=env)
    assert first.returncode == 0
    damaged = list((ws / ".mi-exercise").glob("progress.db.damaged-*"))
    assert damaged, "the damaged store is kept aside, not deleted"
