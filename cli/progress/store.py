"""The learner's progress: SQLite in the workspace, one row per attempt.

Each write is one transaction, so a check killed mid-write leaves either the whole attempt or
nothing; WAL mode and a busy timeout let two checks write at once.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    exercise TEXT NOT NULL,
    started_at TEXT NOT NULL,
    seconds REAL NOT NULL,
    device TEXT NOT NULL,
    status TEXT NOT NULL,
    tests_passed INTEGER NOT NULL,
    tests_total INTEGER NOT NULL,
    points REAL NOT NULL,
    max_points REAL NOT NULL,
    hints_used INTEGER NOT NULL,
    outcomes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_exercise ON attempts(exercise, id);
CREATE TABLE IF NOT EXISTS hints (
    exercise TEXT NOT NULL,
    level INTEGER NOT NULL,
    shown_at TEXT NOT NULL,
    PRIMARY KEY (exercise, level)
);
CREATE TABLE IF NOT EXISTS solutions (
    exercise TEXT NOT NULL,
    shown_at TEXT NOT NULL,
    before_pass INTEGER NOT NULL  -- 1: shown before the exercise was ever passed (like a hint, but all of it)
);
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ProgressStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        with self.connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def connect(self):
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.row_factory = sqlite3.Row
            yield db
        finally:
            db.close()

    # -- writes (each one transaction) ------------------------------------------------------
    def record_attempt(self, result) -> int:
        """Store a CheckResult; returns the attempt's id."""
        outcomes = [{"name": t.name, "outcome": t.outcome.value, "seconds": round(t.seconds, 4),
                     "points": t.points, "max_points": t.max_points} for t in result.tests]
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            hints = db.execute("SELECT COUNT(*) FROM hints WHERE exercise = ?", (result.slug,)).fetchone()[0]
            cur = db.execute(
                "INSERT INTO attempts (exercise, started_at, seconds, device, status, tests_passed, tests_total,"
                " points, max_points, hints_used, outcomes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.slug, result.started_at or now(), result.seconds, result.device, result.status,
                 result.n_passed, len(result.tests), result.points, result.max_points, hints, json.dumps(outcomes)),
            )
            db.execute("COMMIT")
            return cur.lastrowid

    def take_hint(self, slug: str, available: int) -> int | None:
        """Record the next hint as shown; returns its level (0-based) or None when all are used."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            used = db.execute("SELECT COUNT(*) FROM hints WHERE exercise = ?", (slug,)).fetchone()[0]
            if used >= available:
                db.execute("COMMIT")
                return None
            db.execute("INSERT INTO hints (exercise, level, shown_at) VALUES (?, ?, ?)", (slug, used, now()))
            db.execute("COMMIT")
            return used

    def record_solution_view(self, slug: str, before_pass: bool) -> None:
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO solutions (exercise, shown_at, before_pass) VALUES (?, ?, ?)",
                       (slug, now(), int(before_pass)))
            db.execute("COMMIT")

    # -- reads ------------------------------------------------------------------------------
    def solution_seen(self, slug: str) -> str | None:
        """"before passing", "after passing", or None when the solution was never shown."""
        with self.connect() as db:
            row = db.execute("SELECT MAX(before_pass) AS early, COUNT(*) AS n FROM solutions WHERE exercise = ?",
                             (slug,)).fetchone()
        if not row["n"]:
            return None
        return "before passing" if row["early"] else "after passing"

    def hints_used(self, slug: str) -> int:
        with self.connect() as db:
            return db.execute("SELECT COUNT(*) FROM hints WHERE exercise = ?", (slug,)).fetchone()[0]

    def attempts(self, slug: str | None = None, limit: int | None = None) -> list[dict]:
        query = "SELECT * FROM attempts"
        args: tuple = ()
        if slug:
            query += " WHERE exercise = ?"
            args = (slug,)
        query += " ORDER BY id DESC"
        if limit:
            query += f" LIMIT {int(limit)}"
        with self.connect() as db:
            rows = [dict(r) for r in db.execute(query, args)]
        for r in rows:
            r["outcomes"] = json.loads(r["outcomes"])
        return rows

    def summary(self) -> dict[str, dict]:
        """Per exercise: attempts, best tests passed, whether ever fully passed, when last tried, and
        the latest attempt's tests passed, total and status (a file broken since shows there)."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT exercise, COUNT(*) AS attempts, MAX(tests_passed) AS best, "
                "MAX(status = 'passed') AS passed, MAX(started_at) AS last, "
                "(SELECT a2.tests_total FROM attempts a2 WHERE a2.exercise = a.exercise ORDER BY a2.id DESC LIMIT 1) AS total, "
                "(SELECT a2.tests_passed FROM attempts a2 WHERE a2.exercise = a.exercise ORDER BY a2.id DESC LIMIT 1) AS latest, "
                "(SELECT a2.status FROM attempts a2 WHERE a2.exercise = a.exercise ORDER BY a2.id DESC LIMIT 1) AS latest_status "
                "FROM attempts a GROUP BY exercise").fetchall()
        return {r["exercise"]: dict(r) for r in rows}

    def status_of(self, slug: str, summary: dict | None = None) -> str:
        info = (summary if summary is not None else self.summary()).get(slug)
        if not info:
            return "not started"
        return "passed" if info["passed"] else "in progress"
