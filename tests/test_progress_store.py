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
