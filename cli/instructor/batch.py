"""`grade`: grade a class of submissions with the instructor's graders, `--jobs N` at a time.

Each submission is graded in its own process (a fork of the job server, jobserver.py, or where
there is none a cold `python -m mi_exercise.instructor.grade_one`), from a private copy of its
files, so that a submission that crashes, hangs or floods its output costs its own result and
nothing else. The parent knows every exercise's expected tests
(collected from the graders before any learner code runs) and fills in a failed line for each
test without a result, so a result file never has fewer lines than the grader has tests.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from mi_exercise import __version__
from mi_exercise.catalog.model import Catalog, Exercise
from mi_exercise.catalog.checks import unknown_test_keys
from mi_exercise.instructor.submissions import Submission, held_exercises, make_ids
from mi_exercise.paths import describe_content_root

SCHEMA_VERSION = "1.1"  # 1.1: "sandboxed" in results and summaries
NOT_RUN = "not run"  # Outcome.NOT_RUN's value
NO_RESULT = "no result: the worker died or the run was cut short before this test reported"


class GradeError(Exception):
    """A usage problem (bad --shard, unknown exercise, ...): exit status 2."""


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 1, 1
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise GradeError(f"--shard {text!r}: write it as K/N, e.g. 2/4 for the second of four shards") from None
    if n < 1 or not 1 <= k <= n:
        raise GradeError(f"--shard {text}: K must be between 1 and N (got K={k}, N={n})")
    return k, n


def select_exercises(catalog: Catalog, slugs: str | None) -> list[Exercise]:
    if not slugs:
        return list(catalog.exercises)
    out = []
    for slug in [s.strip() for s in slugs.split(",") if s.strip()]:
        if slug not in catalog:
            close = catalog.suggest(slug)
            raise GradeError(f"--exercises: unknown exercise '{slug}' in {describe_content_root(catalog.root)}"
                             + (f" (did you mean {', '.join(close)}?)" if close else ""))
        out.append(catalog.get(slug))
    if not out:
        raise GradeError("--exercises: name at least one exercise")
    return out


# -- expected tests ------------------------------------------------------------------------
class _Collector:
    def __init__(self):
        self.names: list[str] = []
        self.errors: list[str] = []

    def pytest_collection_modifyitems(self, items):
        self.names = [item.name for item in items]

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(str(report.longrepr))


def expected_tests(exercise: Exercise) -> list[str]:
    """The grader's test names, collected without running any test (or any learner code)."""
    import pytest

    from mi_exercise.runner.check import PYTEST_INI

    files = [str(p) for p in exercise.grader_files]
    if not files:
        raise GradeError(f"{exercise.slug}: no grader test_*.py in {exercise.grader_dir}")
    from mi_exercise.runner.check import forget_graders

    forget_graders(files)
    collector = _Collector()
    # As in run_check: plugins named, not discovered, and no unraisableexception plugin (its
    # gc.collect() calls were two thirds of a collection, ~0.3 s per exercise, before any job ran)
    autoload_before = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        pytest.main([*files, "--collect-only", "-c", str(PYTEST_INI), "--rootdir", str(exercise.grader_dir),
                     "--import-mode=importlib", "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:warnings",
                     "-p", "no:stepwise", "-p", "no:logging", "-p", "no:unraisableexception",
                     "-p", "no:threadexception"], plugins=[collector])
    finally:
        if autoload_before is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload_before
    if collector.errors or not collector.names:
        raise GradeError(f"{exercise.slug}: the grader cannot be collected: "
                         + ("\n".join(collector.errors)[-1500:] or "it has no tests"))
    return collector.names


def collect_expected(catalog: Catalog, exercises: list[Exercise], server=None, scratch: Path | None = None) -> dict:
    """{slug: expected_tests(exercise)}: in a fork of `server` when there is one (this process
    then never imports torch or pytest, and the server's imports are not waited for twice), else
    here. GradeError as expected_tests raises it."""
    if server is not None:
        from mi_exercise.instructor.jobserver import JobServerGone

        out = Path(scratch) / "expected.json"
        try:
            server.run("mi_exercise.instructor.collect", [str(out), str(catalog.root), *(ex.slug for ex in exercises)],
                       timeout=300)
            answer = json.loads(out.read_text())
        except (JobServerGone, subprocess.TimeoutExpired, OSError, ValueError):
            answer = {}  # collected here instead, where any error surfaces as it is
        if "error" in answer:
            raise GradeError(answer["error"])
        if "expected" in answer:
            return answer["expected"]
    return {ex.slug: expected_tests(ex) for ex in exercises}


# -- one submission's result ---------------------------------------------------------------
def test_line(exercise: Exercise, name: str, outcome: str, message: str = "", seconds: float = 0.0,
              output: str = "", score: float | None = None) -> dict:
    # a test the grader did not run (a fact of the grading machine, e.g. no GPT-2 weights cached)
    # is out of the score: max_score 0, so it counts neither for nor against the submission
    max_score = 0.0 if outcome == NOT_RUN else exercise.points_for(name)
    passed = outcome == "passed"
    return {"name": name, "outcome": outcome, "passed": passed,
            "score": (max_score if passed else 0.0) if score is None else score, "max_score": max_score,
            "visibility": exercise.visibility_for(name), "seconds": round(seconds, 4),
            "message": message, "output": output}


def exercise_record(exercise: Exercise, expected: list[str], check: dict | None, note: str = "",
                    status: str | None = None) -> dict:
    """One exercise's lines: every expected test exactly once, a missing one as failed."""
    got = {t["name"]: t for t in (check or {}).get("tests", [])}
    problem = (check or {}).get("problem", "")
    lines = []
    for name in expected:
        t = got.pop(name, None)
        if t is None:
            lines.append(test_line(exercise, name, "no result", problem or note or NO_RESULT))
        else:
            lines.append(test_line(exercise, name, t["outcome"], t.get("message", ""), t.get("seconds", 0.0),
                                   t.get("output", "")))
    for name, t in got.items():  # a test the collection did not list (should not happen): kept, never dropped
        lines.append(test_line(exercise, name, t["outcome"], t.get("message", ""), t.get("seconds", 0.0), t.get("output", "")))
    if status is None:
        status = "grader error" if problem else "graded"
    return {
        "slug": exercise.slug, "title": exercise.title, "chapter": exercise.chapter, "status": status, "note": note,
        "passed": any(t["passed"] for t in lines) and all(t["passed"] or t["outcome"] == NOT_RUN for t in lines),
        "tests_passed": sum(t["passed"] for t in lines), "tests_total": len(lines),
        "score": sum(t["score"] for t in lines), "max_score": sum(t["max_score"] for t in lines),
        "seconds": round(float((check or {}).get("seconds", 0.0)), 3), "tests": lines,
    }


def submission_record(sub: Submission, exercises: list[dict], status: str = "graded", error: str = "",
                      seconds: float = 0.0) -> dict:
    lines = [t for ex in exercises for t in ex["tests"]]
    visible = [t for t in lines if t["visibility"] == "visible"]
    return {
        "schema_version": SCHEMA_VERSION, "kind": "submission", "id": sub.id, "source": sub.source.name,
        "submission_kind": sub.kind, "status": status, "error": error,
        "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "mi_exercise": __version__,
        "score": sum(t["score"] for t in lines), "max_score": sum(t["max_score"] for t in lines),
        "tests_passed": sum(t["passed"] for t in lines), "tests_total": len(lines),
        "visible_passed": sum(t["passed"] for t in visible), "visible_total": len(visible),
        "seconds": round(seconds, 3), "exercises": exercises,
    }


def error_record(sub: Submission, exercises: list[Exercise], expected: dict[str, list[str]], error: str,
                 seconds: float = 0.0) -> dict:
    """A submission that could not be graded: every expected test is a failed line."""
    recs = [exercise_record(ex, expected[ex.slug], None, note=error, status="not graded") for ex in exercises]
    return submission_record(sub, recs, status="error", error=error, seconds=seconds)


def share_threads(exercises: list[Exercise], threads: int | None) -> list[Exercise]:
    """The exercises with at most `threads` torch threads in their workers (their own
    [limits] threads, if lower, kept)."""
    if not threads:
        return list(exercises)
    return [replace(ex, limits=replace(ex.limits, threads=min(ex.limits.threads or threads, threads)))
            for ex in exercises]


def job_threads(jobs: int) -> int | None:
    """torch threads for each of `jobs` jobs at a time, and for each one's worker: the cores
    shared out (two jobs with torch's default of one thread per core each would run four busy
    threads on two cores). None for one job: torch's default, as in `check`."""
    if jobs <= 1:
        return None
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, cores // jobs)


def grade_in_process(sub: Submission, exercises: list[Exercise], expected: dict[str, list[str]], *,
                     device: str = "cpu", sandbox: bool = False, hide: list[Path] = (),
                     threads: int | None = None) -> dict:
    """Grade one submission here (the child process's work). `threads`: at most that many torch
    threads here and in each worker (job_threads)."""
    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.instructor.submissions import SubmissionError, materialize
    from mi_exercise.runner.check import run_check

    start = time.monotonic()
    if threads:
        import torch  # the grader imports it anyway; the reference runs here

        torch.set_num_threads(min(torch.get_num_threads(), threads))
    graded = share_threads(exercises, threads)
    catalog = load_catalog()
    work = Path(tempfile.mkdtemp(prefix="mi-grade-"))
    try:
        try:
            m = materialize(sub, catalog, exercises, work / "files")
        except SubmissionError as exc:
            return error_record(sub, exercises, expected, str(exc), time.monotonic() - start)
        recs = []
        for ex, graded_ex in zip(exercises, graded):
            path = m.files.get(ex.slug)
            if path is None:
                recs.append(exercise_record(ex, expected[ex.slug], None, note=m.notes.get(ex.slug, ""), status="no file"))
                continue
            prefix = None
            if sandbox:  # the submission's own copy readable; the class, --out and graders not there
                from mi_exercise.sandbox import probe
                prefix = probe().prefix(readable=[m.root], hidden=[*hide, sub.source])
            # never the reference cache: a submission (unsandboxed, as this user) could have written it
            result = run_check(graded_ex, path, device=device, sandbox=prefix, reference_cache=False)
            recs.append(exercise_record(ex, expected[ex.slug], result.to_dict(), note=m.notes.get(ex.slug, "")))
        rec = submission_record(sub, recs, seconds=time.monotonic() - start)
        rec["sandboxed"] = bool(sandbox)
        return rec
    finally:
        shutil.rmtree(work, ignore_errors=True)


def child_timeout(exercises: list[Exercise]) -> float:
    return sum(ex.limits.check_seconds * 1.5 + 90 for ex in exercises) + 60


def job_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    from mi_exercise import paths
    env["MI_EXERCISE_CONTENT"] = str(paths.content_root())
    return env


def grade_in_subprocess(sub: Submission, exercises: list[Exercise], expected: dict[str, list[str]], *,
                        device: str, sandbox: bool, hide: list[Path], scratch: Path, threads: int | None = None,
                        server=None) -> dict:
    """Grade one submission in a process of its own: a fork of `server` (jobserver.JobServer)
    when there is one and it works, else a cold `python -m mi_exercise.instructor.grade_one`."""
    job = scratch / f"{sub.id}.job.json"
    out = scratch / f"{sub.id}.result.json"
    job.write_text(json.dumps({
        "submission": {"id": sub.id, "source": str(sub.source), "kind": sub.kind},
        "exercises": [ex.slug for ex in exercises], "expected": expected, "device": device,
        "sandbox": sandbox, "hide": [str(h) for h in hide], "out": str(out), "threads": threads,
    }))
    start = time.monotonic()
    limit = child_timeout(exercises)
    try:
        proc = None
        if server is not None:
            from mi_exercise.instructor.jobserver import JobServerGone

            try:
                proc = server.run("mi_exercise.instructor.grade_one", [str(job)], timeout=limit)
            except JobServerGone:  # its jobs are dead by now: whatever one wrote is discarded
                out.unlink(missing_ok=True)
        if proc is None:
            from mi_exercise.runner.containment import run_job  # nothing the job started outlives it

            proc = run_job([sys.executable, "-m", "mi_exercise.instructor.grade_one", str(job)], env=job_env(),
                           stdin=subprocess.DEVNULL, timeout=limit)
    except subprocess.TimeoutExpired:
        return error_record(sub, exercises, expected, f"grading this submission took longer than {limit:.0f}s and was stopped",
                            time.monotonic() - start)
    try:
        return json.loads(out.read_text())
    except (OSError, ValueError):
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        return error_record(sub, exercises, expected,
                            f"the grading process ended (exit status {proc.returncode}) without a result"
                            + (": " + " | ".join(tail) if tail else ""), time.monotonic() - start)


# -- the class ----------------------------------------------------------------------------
def grade_class(sources: list[Path], out_dir: Path, catalog: Catalog, exercises: list[Exercise], *,
                jobs: int = 1, shard: tuple[int, int] = (1, 1), sandbox: bool = False, device: str = "cpu",
                progress=None, held_only: bool = False) -> dict:
    """`held_only` (grade without --exercises): each submission is graded against the exercises
    whose files it holds (a one-exercise notebook against that exercise), not all of them."""
    from mi_exercise.instructor import formats

    if jobs < 1:
        raise GradeError("--jobs must be at least 1")
    if not sources:
        raise GradeError("name at least one submission")
    if sandbox:
        from mi_exercise.sandbox import probe
        probe()  # raises SandboxUnavailable before any learner code runs
    all_subs = make_ids([Path(s) for s in sources])
    k, n = shard
    subs = [s for i, s in enumerate(all_subs) if i % n == k - 1]
    graded_for = {s.id: held_exercises(s, catalog, exercises) if held_only else list(exercises) for s in subs}
    used = {ex.slug for exs in graded_for.values() for ex in exs}
    exercises = [ex for ex in exercises if ex.slug in used] or list(exercises)
    threads = job_threads(jobs)
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="mi-grade-jobs-") as scratch:
        server = None
        if subs:
            from mi_exercise.instructor import jobserver

            if jobserver.available():  # first: its imports overlap the collection below
                needs = sorted({n for ex in exercises for n in ex.needs})
                server = jobserver.JobServer(needs, job_env(), Path(scratch), sandbox=sandbox)
        try:
            expected = collect_expected(catalog, exercises, server, Path(scratch))
            bad_keys = [str(p) for ex in exercises for p in unknown_test_keys(ex, expected[ex.slug])]
            if bad_keys:  # the scores would silently use the default points / visibility
                raise GradeError("exercise.toml names tests the grader does not have; fix it before grading:\n  "
                                 + "\n  ".join(bad_keys))
            out_dir = Path(out_dir)
            out_dir.mkdir(parents=True, exist_ok=True)
            hide = [out_dir.resolve(), *(s.source for s in all_subs)]

            def one(sub: Submission) -> dict:
                try:
                    rec = grade_in_subprocess(sub, graded_for[sub.id], expected, device=device, sandbox=sandbox,
                                              hide=hide, scratch=Path(scratch), threads=threads, server=server)
                except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
                    rec = error_record(sub, graded_for[sub.id], expected, f"{type(exc).__name__}: {exc}")
                formats.write_submission(out_dir, rec)
                if progress:
                    progress(rec)
                return rec

            with ThreadPoolExecutor(max_workers=jobs) as pool:
                results = list(pool.map(one, subs))
        finally:
            if server is not None:
                server.close()
    summary = summarize(results, exercises, expected, shards=[{"index": k, "count": n,
                        "submissions": [s.id for s in subs]}], submissions_total=len(all_subs))
    summary["sandboxed"] = bool(sandbox)
    formats.write_summary(out_dir, summary, results)
    return summary


def summarize(results: list[dict], exercises: list[Exercise] | None, expected: dict[str, list[str]] | None = None, *,
              shards: list[dict], submissions_total: int) -> dict:
    """The class summary: per exercise pass rate and median time, per learner score."""
    results = sorted(results, key=lambda r: r["id"])
    slugs = [ex.slug for ex in exercises] if exercises else list(dict.fromkeys(
        e["slug"] for r in results for e in r["exercises"]))
    per_ex = []
    for slug in slugs:
        recs = [e for r in results for e in r["exercises"] if e["slug"] == slug]
        graded = [e for e in recs if e["status"] == "graded"]
        tests = [t for e in recs for t in e["tests"]]
        per_ex.append({
            "slug": slug, "submissions": len(recs), "passed": sum(e["passed"] for e in recs),
            "pass_rate": round(sum(e["passed"] for e in recs) / len(recs), 4) if recs else 0.0,
            "test_pass_rate": round(sum(t["passed"] for t in tests) / len(tests), 4) if tests else 0.0,
            "median_seconds": round(statistics.median(e["seconds"] for e in graded), 3) if graded else None,
            "mean_score": round(statistics.fmean(e["score"] for e in recs), 4) if recs else 0.0,
            "max_score": recs[0]["max_score"] if recs else 0.0,
            "tests": len(recs[0]["tests"]) if recs else (len(expected[slug]) if expected else 0),
        })
    learners = [{
        "id": r["id"], "source": r["source"], "status": r["status"], "error": r["error"],
        "score": r["score"], "max_score": r["max_score"],
        "percent": round(100 * r["score"] / r["max_score"], 2) if r["max_score"] else 0.0,
        "tests_passed": r["tests_passed"], "tests_total": r["tests_total"],
        "exercises": {e["slug"]: e["score"] for e in r["exercises"]},
    } for r in results]
    return {
        "schema_version": SCHEMA_VERSION, "kind": "summary", "mi_exercise": __version__,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "shards": sorted(shards, key=lambda s: s["index"]), "submissions_total": submissions_total,
        "submissions": len(results), "errors": sum(r["status"] == "error" for r in results),
        "exercises": per_ex, "learners": learners,
    }


def merge_dirs(dirs: list[Path], out_dir: Path) -> dict:
    """Join the result folders of several shards into one, with the same summary as one run."""
    from mi_exercise.instructor import formats

    results, shards, totals, seen, sandboxed = [], [], set(), {}, True
    for d in dirs:
        d = Path(d)
        summary_path = d / "summary.json"
        if not summary_path.is_file():
            raise GradeError(f"{d}: no summary.json (is it the --out folder of a `grade` run?)")
        summary = json.loads(summary_path.read_text())
        if summary.get("schema_version", "").split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise GradeError(f"{summary_path}: schema version {summary.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        shards += summary["shards"]
        sandboxed = sandboxed and summary.get("sandboxed", False)
        totals.add(summary["submissions_total"])
        for learner in summary["learners"]:
            path = d / "submissions" / learner["id"] / "result.json"
            if not path.is_file():
                raise GradeError(f"{d}: {path.relative_to(d)} is missing")
            if learner["id"] in seen:
                raise GradeError(f"submission '{learner['id']}' is in both {seen[learner['id']]} and {d}")
            seen[learner["id"]] = d
            results.append(json.loads(path.read_text()))
    counts = {s["count"] for s in shards}
    if len(counts) > 1 or len(totals) > 1:
        raise GradeError("these folders come from different shardings (different N or submission lists)")
    n = counts.pop()
    have = sorted(s["index"] for s in shards)
    if have != list(range(1, n + 1)):
        missing = sorted(set(range(1, n + 1)) - set(have))
        dup = sorted({i for i in have if have.count(i) > 1})
        raise GradeError(f"shards of {n}: " + (f"missing {', '.join(map(str, missing))}" if missing else "")
                         + (f" repeated {', '.join(map(str, dup))}" if dup else ""))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for rec in results:
        formats.write_submission(out_dir, rec)
    slugs = list(dict.fromkeys(e["slug"] for r in results for e in r["exercises"]))
    summary = summarize(results, None, shards=shards, submissions_total=totals.pop())
    summary["exercises"] = [e for slug in slugs for e in summary["exercises"] if e["slug"] == slug]
    summary["sandboxed"] = sandboxed
    formats.write_summary(out_dir, summary, results)
    return summary
