"""Result files of `grade`: JSON (docs/grade-result.schema.json), JUnit XML, Gradescope's
results.json and Markdown.

Who reads what:
- `result.json`, the class `summary.json`, `summary.md` and the class `junit.xml`: the
  instructor (every message, hidden tests included).
- per submission `results.json` (Gradescope), `feedback.md` and `junit.xml`: may reach the
  learner, so a hidden test shows only its name and pass/fail, never its message (which names
  inputs and expected values) or the output printed during it; an after-due-date test is left
  to Gradescope's own visibility rule there and shown as pass/fail only in feedback.md. These
  files say how many visible tests passed; they do not claim a grade.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from mi_exercise.catalog.model import learner_sees as shown_to_learner

REDACTED = "hidden test: details are not shown"
MAX_TEXT = 4000


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n[... cut ...]"


def learner_sees(test: dict, after_due: bool = False) -> bool:
    return shown_to_learner(test["visibility"], after_due)


# -- JUnit --------------------------------------------------------------------------------
def junit_xml(results: list[dict], *, redact: bool) -> str:
    """One <testsuite> per (submission, exercise); a failed test carries <failure>."""
    root = ET.Element("testsuites", name="mi-exercise")
    total = fails = 0
    seconds = 0.0
    for rec in results:
        for ex in rec["exercises"]:
            suite = ET.SubElement(root, "testsuite", name=f"{rec['id']}.{ex['slug']}")
            n_fail = n_skip = 0
            for t in ex["tests"]:
                case = ET.SubElement(suite, "testcase", classname=f"{rec['id']}.{ex['slug']}", name=t["name"],
                                     time=f"{t['seconds']:.3f}")
                ET.SubElement(case, "properties")
                props = case.find("properties")
                for key in ("visibility", "score", "max_score", "outcome"):
                    ET.SubElement(props, "property", name=key, value=str(t[key]))
                if t["outcome"] == "not run":
                    n_skip += 1
                    ET.SubElement(case, "skipped", message=(t["message"].splitlines() or ["not run"])[0][:500])
                elif not t["passed"]:
                    n_fail += 1
                    hide = redact and t["visibility"] != "visible"
                    message = REDACTED if hide else (t["message"].splitlines()[0] if t["message"] else t["outcome"])
                    fail = ET.SubElement(case, "failure", message=message[:500], type=t["outcome"])
                    fail.text = REDACTED if hide else _clip(t["message"])
                    if t["output"] and not hide:
                        ET.SubElement(case, "system-out").text = _clip(t["output"])
            suite.set("tests", str(len(ex["tests"])))
            suite.set("failures", str(n_fail))
            suite.set("errors", "0")
            suite.set("skipped", str(n_skip))
            suite.set("time", f"{ex['seconds']:.3f}")
            total += len(ex["tests"])
            fails += n_fail
            seconds += ex["seconds"]
    root.set("tests", str(total))
    root.set("failures", str(fails))
    root.set("errors", "0")
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- Gradescope ---------------------------------------------------------------------------
def visible_line(rec: dict) -> str:
    hidden = rec["tests_total"] - rec["visible_total"]
    line = f"{rec['visible_passed']}/{rec['visible_total']} visible tests passed"
    if hidden:
        line += f"; {hidden} more test(s) are not shown here and count only once grades are published"
    return line


def gradescope(rec: dict) -> dict:
    """Gradescope autograder results.json. No top-level score: this is feedback, not a grade."""
    tests = []
    for ex in rec["exercises"]:
        for t in ex["tests"]:
            shown = t["visibility"] != "hidden"
            output = ""
            if shown:
                output = "passed" if t["passed"] else _clip(t["message"] or t["outcome"])
                if t["output"] and not t["passed"]:
                    output += "\n\nYour code printed:\n" + _clip(t["output"])
            else:
                output = "passed" if t["passed"] else "not passed"
            tests.append({"name": f"{ex['slug']}: {t['name']}", "score": t["score"], "max_score": t["max_score"],
                          "status": "passed" if t["passed"] else "failed", "output": output,
                          "visibility": t["visibility"]})
    head = visible_line(rec)
    if rec["status"] == "error":
        head = f"Your submission could not be graded: {rec['error']}\n\n" + head
    return {"output": head, "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


# -- Markdown -----------------------------------------------------------------------------
def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:300]


def feedback_md(rec: dict) -> str:
    """What a learner may read about their own submission."""
    lines = [f"# Feedback for {rec['id']}", ""]
    if rec["status"] == "error":
        lines += [f"**This submission could not be graded:** {_cell(rec['error'])}", ""]
    lines += [f"**{visible_line(rec)}.**", ""]
    for ex in rec["exercises"]:
        shown = [t for t in ex["tests"] if learner_sees(t)]
        others = [t for t in ex["tests"] if not learner_sees(t)]
        lines += [f"## {ex['slug']}: {ex['title']}", ""]
        if ex["note"]:
            lines += [f"_{_cell(ex['note'])}_", ""]
        lines += [f"{sum(t['passed'] for t in shown)}/{len(shown)} visible tests passed", ""]
        for t in shown:
            mark = "✓" if t["passed"] else ("·" if t["outcome"] == "not run" else "✗")
            detail = "" if t["passed"] else f": {_cell(t['message'] or t['outcome'])}"
            lines.append(f"- {mark} `{t['name']}`{detail}")
        if others:
            lines += ["", f"{len(others)} further test(s) are not shown."]
        lines.append("")
    return "\n".join(lines)


def summary_md(summary: dict) -> str:
    """The class summary for a CI step summary ($GITHUB_STEP_SUMMARY)."""
    lines = ["# mi-exercise: class results", "",
             f"{summary['submissions']} submission(s) graded"
             + (f" of {summary['submissions_total']}" if summary['submissions_total'] != summary['submissions'] else "")
             + (f", {summary['errors']} could not be graded" if summary["errors"] else "") + ".", "",
             *([] if summary.get("sandboxed", True) else [
                 "**Graded without a sandbox (`--no-sandbox`):** learner code ran as the grading user, "
                 "with its files and network; these results are only as trustworthy as every submission.", ""]),
             "## Exercises", "", "| exercise | fully passed | pass rate | tests passed | median time | mean score |",
             "|---|---:|---:|---:|---:|---:|"]
    for e in summary["exercises"]:
        med = "-" if e["median_seconds"] is None else f"{e['median_seconds']:.1f}s"
        lines.append(f"| {e['slug']} | {e['passed']}/{e['submissions']} | {100 * e['pass_rate']:.0f}% | "
                     f"{100 * e['test_pass_rate']:.0f}% | {med} | {e['mean_score']:.2f}/{e['max_score']:g} |")
    lines += ["", "## Learners", "", "| learner | score | tests passed | status |", "|---|---:|---:|---|"]
    for r in summary["learners"]:
        status = r["status"] if not r["error"] else f"error: {_cell(r['error'])}"
        lines.append(f"| {r['id']} | {r['score']:g}/{r['max_score']:g} ({r['percent']:.0f}%) | "
                     f"{r['tests_passed']}/{r['tests_total']} | {status} |")
    return "\n".join(lines) + "\n"


# -- writing ------------------------------------------------------------------------------
def write_submission(out_dir: Path, rec: dict) -> Path:
    folder = Path(out_dir) / "submissions" / rec["id"]
    _write(folder / "result.json", json.dumps(rec, indent=2) + "\n")
    _write(folder / "results.json", json.dumps(gradescope(rec), indent=2) + "\n")
    _write(folder / "junit.xml", junit_xml([rec], redact=True))
    _write(folder / "feedback.md", feedback_md(rec))
    return folder


def write_summary(out_dir: Path, summary: dict, results: list[dict]) -> None:
    out_dir = Path(out_dir)
    _write(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    _write(out_dir / "summary.md", summary_md(summary))
    _write(out_dir / "junit.xml", junit_xml(sorted(results, key=lambda r: r["id"]), redact=False))
