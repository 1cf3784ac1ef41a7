"""`check --ci`: a learner's own repository in CI gets JUnit XML and a Markdown step summary.

Every exercise checked has every one of its tests in the JUnit file; an exercise whose file is
missing has each of its tests as a failure saying so.
"""

from __future__ import annotations

import os
from pathlib import Path

from mi_exercise.instructor.batch import exercise_record, expected_tests, submission_record
from mi_exercise.instructor.formats import _write, junit_xml
from mi_exercise.instructor.submissions import Submission


def ci_record(exercises, results, missing: dict[str, str], name: str = "workspace") -> dict:
    by_slug = {r.slug: r for r in results}
    recs = []
    for ex in exercises:
        if ex.slug in by_slug:
            check = by_slug[ex.slug].to_dict()
            names = [t["name"] for t in check["tests"]] or expected_tests(ex)
            recs.append(exercise_record(ex, names, check))
        elif ex.slug in missing:
            recs.append(exercise_record(ex, expected_tests(ex), None, note=missing[ex.slug], status="no file"))
    return submission_record(Submission(name, Path(name), "folder"), recs)


def ci_markdown(rec: dict) -> str:
    lines = ["# mi-exercise check", "", f"{rec['tests_passed']}/{rec['tests_total']} tests passed", "",
             "| exercise | tests passed | status |", "|---|---:|---|"]
    for ex in rec["exercises"]:
        status = "✓ passed" if ex["passed"] else ("file missing" if ex["status"] == "no file" else "✗ not yet")
        lines.append(f"| {ex['slug']} | {ex['tests_passed']}/{ex['tests_total']} | {status} |")
    return "\n".join(lines) + "\n"


def write_ci_reports(exercises, results, missing: dict[str, str], junit_path: Path) -> dict:
    rec = ci_record(exercises, results, missing)
    _write(Path(junit_path), junit_xml([rec], redact=True))  # the learner's own CI: hidden tests stay hidden
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(ci_markdown(rec))
    return rec
