"""The learner's progress: SQLite in the workspace, one row per attempt.

Each write is one transaction, so a check killed mid-write leaves either the whole attempt or
nothing; WAL mode and a busy timeout let two checks write at once.

Progress survives: after every write the store is copied (SQLite's backup API) to a last-good
copy outside the workspace, in the user's data folder, keyed by the workspace's path. A store
that is missing (its folder or file deleted), not a database, malformed or failing SQLite's
integrity check is moved aside and restored from that copy, with one line on stderr saying
so, never a traceback. Learner code cannot reach either file when it runs sandboxed (neither is
in the sandbox); unsandboxed it runs as you and can, like anything else you can.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
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


def copies_dir() -> Path:
    from mi_exercise.paths import user_dir

    return user_dir("data") / "progress"


def good_copy_path(db_path: Path) -> Path:
    """Where the last good copy of the store at `db_path` lives (outside the workspace)."""
    key = hashlib.sha256(str(Path(db_path).resolve()).encode()).hexdigest()[:20]
    return copies_dir() / f"{key}.db"


def say(message: str) -> None:
    print("mi-exercise: " + " ".join(message.split()), file=sys.stderr, flush=True)


def _problem(path: Path) -> str:
    """'' when the database at `path` is sound, else what is wrong with it."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = db.execute("PRAGMA integrity_check").fetchall()
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return f"it is not a readable database ({exc})"
    if [tuple(r) for r in rows] != [("ok",)]:
        detail = " ".join("; ".join(str(r[0]) for r in rows[:3]).split())  # one line
        return f"it fails SQLite's integrity check ({detail[:200]})"
    if tables and not {"attempts", "hints"} <= tables:
        return "its tables are not mi-exercise's"
    return ""


class ProgressStore:
    def __init__(self, path: Path, copy: Path | None = None):
        self.path = Path(path)
        self.copy = Path(copy) if copy is not None else good_copy_path(self.path)
        self.recover()
        with self.connect() as db:
            db.executescript(SCHEMA)

    # -- survival ---------------------------------------------------------------------------
    def recover(self) -> None:
        """Make the store sound: restore a missing or damaged one from the last good copy."""
        had_folder = self.path.parent.is_dir()
        if self.path.exists():
            problem = _problem(self.path)
            if not problem:
                return
            aside = self.path.with_name(f"{self.path.name}.damaged-{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}")
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
                except OSError:
                    pass
            what = f"{self.path} was damaged: {problem}; it is kept as {aside.name}"
        else:
            for suffix in ("-wal", "-shm"):  # a log without its database would be replayed into a new one
                try:
                    os.unlink(f"{self.path}{suffix}")
                except OSError:
                    pass
            if not self.copy.is_file():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                return  # a new workspace: nothing was lost
            what = f"{self.path.parent if not had_folder else self.path} was missing"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.copy.is_file() and not _problem(self.copy):
            src = sqlite3.connect(f"file:{self.copy}?mode=ro", uri=True)
            dst = sqlite3.connect(self.path)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
            saved = datetime.fromtimestamp(self.copy.stat().st_mtime).isoformat(sep=" ", timespec="seconds")
            say(f"{what}; restored your progress from the last good copy ({saved}).")
        else:
            say(f"{what}, and there is no good copy to restore; progress starts again from here.")

    def save_good_copy(self) -> None:
        """Copy the store (just written by us, so sound) to the last-good copy, atomically."""
        try:
            self.copy.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.copy.with_name(f"{self.copy.name}.{os.getpid()}.tmp")
            src = sqlite3.connect(self.path, timeout=30)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
            os.replace(tmp, self.copy)
            self.copy.with_suffix(".json").write_text(json.dumps({"store": str(self.path.resolve()), "saved": now()}))
        except (OSError, sqlite3.Error) as exc:
            say(f"could not save a copy of your progress to {self.copy}: {exc}")

    @contextmanager
    def connect(self):
        if not self.path.exists():  # deleted since we opened it (during a check, say)
            self.recover()
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.row_factory = sqlite3.Row
            yield db
        finally:
            db.close()

    def _retry(self, work):
        """Run `work(db)`; if the store turns out damaged, recover it once and run it again."""
        try:
            with self.connect() as db:
                return work(db)
        except sqlite3.DatabaseError:
            self.recover()
            with self.connect() as db:
                db.executescript(SCHEMA)
                return work(db)

    # -- writes (each one transaction) ------------------------------------------------------
    def record_attempt(self, result) -> int:
        """Store a CheckResult; returns the attempt's id."""
        outcomes = [{"name": t.name, "outcome": t.outcome.value, "seconds": round(t.seconds, 4),
                     "points": t.points, "max_points": t.max_points} for t in result.tests]

        def work(db):
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

        rowid = self._retry(work)
        self.save_good_copy()
        return rowid

    def take_hint(self, slug: str, available: int) -> int | None:
        """Record the next hint as shown; returns its level (0-based) or None when all are used."""
        def work(db):
            db.execute("BEGIN IMMEDIATE")
            used = db.execute("SELECT COUNT(*) FROM hints WHERE exercise = ?", (slug,)).fetchone()[0]
            if used >= available:
                db.execute("COMMIT")
                return None
            db.execute("INSERT INTO hints (exercise, level, shown_at) VALUES (?, ?, ?)", (slug, used, now()))
            db.execute("COMMIT")
            return used

        level = self._retry(work)
        if level is not None:
            self.save_good_copy()
        return level

    def record_solution_view(self, slug: str, before_pass: bool) -> None:
        def work(db):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO solutions (exercise, shown_at, before_pass) VALUES (?, ?, ?)",
                       (slug, now(), int(before_pass)))
            db.execute("COMMIT")

        self._retry(work)
        self.save_good_copy()

    # -- reads ------------------------------------------------------------------------------
    def solution_seen(self, slug: str) -> str | None:
        """"before passing", "after passing", or None when the solution was never shown."""
        row = self._retry(lambda db: db.execute(
            "SELECT MAX(before_pass) AS early, COUNT(*) AS n FROM solutions WHERE exercise = ?", (slug,)).fetchone())
        if not row["n"]:
            return None
        return "before passing" if row["early"] else "after passing"

    def hints_used(self, slug: str) -> int:
        return self._retry(lambda db: db.execute("SELECT COUNT(*) FROM hints WHERE exercise = ?", (slug,)).fetchone()[0])

    def attempts(self, slug: str | None = None, limit: int | None = None) -> list[dict]:
        query = "SELECT * FROM attempts"
        args: tuple = ()
        if slug:
            query += " WHERE exercise = ?"
            args = (slug,)
        query += " ORDER BY id DESC"
        if limit:
            query += f" LIMIT {int(limit)}"
        rows = self._retry(lambda db: [dict(r) for r in db.execute(query, args)])
        for r in rows:
            r["outcomes"] = json.loads(r["outcomes"])
        return rows

    def summary(self) -> dict[str, dict]:
        """Per exercise: attempts, best tests passed, whether ever fully passed, when last tried, and
        the latest attempt's tests passed, total and status (a file broken since shows there)."""
        rows = self._retry(lambda db: db.execute(
            "SELECT exercise, COUNT(*) AS attempts, MAX(tests_passed) AS best, "
            "MAX(status = 'passed') AS passed, MAX(started_at) AS last, "
            "(SELECT a2.tests_total FROM attempts a2 WHERE a2.exercise = a.exercise ORDER BY a2.id DESC LIMIT 1) AS total, "
            "(SELECT a2.tests_passed FROM attempts a2 WHERE a2.exercise = a.exercise ORDER BY a2.id DESC LIMIT 1) AS latest, "
            "(SELECT a2.status FROM attempts a2 WHERE a2.exercise = a.exercise ORDER BY a2.id DESC LIMIT 1) AS latest_status "
            "FROM attempts a GROUP BY exercise").fetchall())
        return {r["exercise"]: dict(r) for r in rows}

    def status_of(self, slug: str, summary: dict | None = None) -> str:
        info = (summary if summary is not None else self.summary()).get(slug)
        if not info:
            return "not started"
        return "passed" if info["passed"] else "in progress"
