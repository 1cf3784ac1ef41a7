"""`mi-exercise grade` over a small class built from tensor-basics: correct, partly correct,
broken and hostile submissions in every supported form, every score checked, every format
checked against its schema, hidden tests never echoed to the learner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest

from tests.conftest import REPO, mutant_text, run_cli

GR = REPO / "graders" / "foundations" / "tensor-basics"
SOLUTION = (GR / "solution.py").read_text()
STUB = (REPO / "exercises" / "foundations" / "tensor-basics" / "stub.py").read_text()
LAYOUT = Path("00-foundations") / "tensor_basics.py"
RESULT_SCHEMA = json.loads((REPO / "docs" / "grade-result.schema.json").read_text())
GRADESCOPE_SCHEMA = json.loads((REPO / "docs" / "gradescope-results.schema.json").read_text())
VISIBILITY = '\n[visibility]\ndefault = "visible"\ntest_normalize_columns = "hidden"\ntest_row_means = "after_due_date"\n'

ENV_SNIFFER = SOLUTION.replace(
    "    return torch.arange(rows * cols).reshape(rows, cols)",
    "    import os\n"
    "    leaks = [k for k in os.environ if 'PYTEST' in k or 'MI_EXERCISE' in k or 'GRAD' in k]\n"
    "    if leaks:\n"
    "        raise RuntimeError(f'leaked: {leaks}')\n"
    "    return torch.arange(rows * cols).reshape(rows, cols)")
assert ENV_SNIFFER != SOLUTION
FORGER = SOLUTION.replace("return a[:, None] + b[None, :]", "return a[:, None] - b[None, :]") + (
    "\nimport torch as _t\n_t.allclose = lambda *a, **k: True\nprint('========== 11 passed ==========')\n")
assert FORGER != SOLUTION
KILLER = SOLUTION + "\nimport os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
HALF = SOLUTION.split("def row_means")[0] + "".join(
    f"def {name}(*args, **kwargs):\n    raise NotImplementedError('{name}')\n\n"
    for name in ["row_means", "normalize_columns", "argmax_per_row", "scale_inplace", "scaled_copy"])


def folder(root: Path, name: str, source: str | None) -> Path:
    sub = root / name
    sub.mkdir(parents=True)
    if source is not None:
        (sub / LAYOUT).parent.mkdir(parents=True)
        (sub / LAYOUT).write_text(source)
    return sub


def build_class(root: Path) -> dict[str, Path]:
    subs = {
        "correct": folder(root, "correct", SOLUTION),
        "env-sniffer": folder(root, "env-sniffer", ENV_SNIFFER),
        "wrong-axis": folder(root, "wrong-axis", mutant_text(GR, "row_means_wrong_axis.py")),
        "unbiased": folder(root, "unbiased", mutant_text(GR, "unbiased_std.py")),
        "half-done": folder(root, "half-done", HALF),
        "stub": folder(root, "stub", STUB),
        "syntax-error": folder(root, "syntax-error", "def arange_grid(rows, cols)\n    return 1\n"),
        "empty": folder(root, "empty", None),
        "forger": folder(root, "forger", FORGER),
        "killer": folder(root, "killer", KILLER),
    }
    # a git checkout, with the file somewhere else than the workspace layout
    git = root / "git-checkout"
    (git / "src").mkdir(parents=True)
    (git / "src" / "tensor_basics.py").write_text(SOLUTION)
    subprocess.run(["git", "init", "-q", str(git)], check=True)
    subs["git-checkout"] = git
    # a zip of a workspace, a corrupt zip and a zip with an escaping path
    good = root / "zipped.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr(str(LAYOUT), mutant_text(GR, "unbiased_std.py"))
    subs["zipped"] = good
    (root / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    subs["corrupt"] = root / "corrupt.zip"
    evil = root / "zip-slip.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escaped.py", "print('escaped')")
    subs["zip-slip"] = evil
    # a notebook named after the exercise's module
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# my work"), nbformat.v4.new_code_cell("%matplotlib inline"),
                nbformat.v4.new_code_cell(SOLUTION)]
    nb_path = root / "notebooks" / "tensor_basics.ipynb"
    nb_path.parent.mkdir()
    nbformat.write(nb, str(nb_path))
    subs["tensor_basics"] = nb_path
    return subs


def direct_points(path: Path) -> float:
    """Points run_check gives the same file in-process: the batch must agree with `check`."""
    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.runner.check import run_check

    return run_check(load_catalog().get("tensor-basics"), path, device="cpu").points


def learner_files(sub_dir: Path) -> str:
    return "\n".join((sub_dir / n).read_text() for n in ("results.json", "feedback.md", "junit.xml"))


@pytest.mark.slow
def test_grade_a_class(content, tmp_path, monkeypatch):
    toml = content / "exercises" / "foundations" / "tensor-basics" / "exercise.toml"
    toml.write_text(toml.read_text() + VISIBILITY)
    env = {"MI_EXERCISE_CONTENT": str(content)}
    monkeypatch.setenv("MI_EXERCISE_CONTENT", str(content))
    subs = build_class(tmp_path / "class")
    out = tmp_path / "out"
    result = run_cli("grade", *map(str, subs.values()), "--out", str(out), "--jobs", "2", env=env, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr  # some submissions could not be graded
    assert "Traceback" not in result.stderr

    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.instructor.batch import expected_tests

    ex = load_catalog().get("tensor-basics")
    names = expected_tests(ex)
    assert len(names) == 11
    full = sum(ex.points_for(n) for n in names)

    summary = json.loads((out / "summary.json").read_text())
    jsonschema.validate(summary, RESULT_SCHEMA)
    assert summary["submissions"] == summary["submissions_total"] == len(subs) == 15
    recs = {}
    for learner in summary["learners"]:
        d = out / "submissions" / learner["id"]
        rec = json.loads((d / "result.json").read_text())
        jsonschema.validate(rec, RESULT_SCHEMA)
        jsonschema.validate(json.loads((d / "results.json").read_text()), GRADESCOPE_SCHEMA)
        junit = ET.parse(d / "junit.xml").getroot()
        cases = junit.findall("./testsuite/testcase")
        assert [c.get("name") for c in cases] == names
        assert int(junit.get("failures")) == sum(c.find("failure") is not None for c in cases) == 11 - rec["tests_passed"]
        # every expected test has exactly one line, whatever happened
        assert [t["name"] for t in rec["exercises"][0]["tests"]] == names
        assert rec["max_score"] == full and learner["score"] == rec["score"]
        recs[learner["id"]] = rec

    score = {k: r["score"] for k, r in recs.items()}
    status = {k: r["status"] for k, r in recs.items()}
    # graded sandboxed (the default): the killer's kill(getppid()) reaches nothing outside its
    # PID namespace, so it is graded like the correct solution it also is
    assert summary["sandboxed"] is True
    for name in ("correct", "env-sniffer", "git-checkout", "tensor_basics", "killer"):
        assert score[name] == full, (name, recs[name]["exercises"][0]["tests"])
    assert recs["tensor_basics"]["submission_kind"] == "notebook"
    assert recs["git-checkout"]["submission_kind"] == "git"
    for name in ("stub", "syntax-error", "empty", "corrupt", "zip-slip"):
        assert score[name] == 0, name
    for name in ("corrupt", "zip-slip"):
        assert status[name] == "error" and recs[name]["error"], name
        assert all(t["outcome"] == "no result" and not t["passed"] for t in recs[name]["exercises"][0]["tests"])
    assert "not a readable zip" in recs["corrupt"]["error"]
    assert "unsafe path" in recs["zip-slip"]["error"]
    assert not (tmp_path / "escaped.py").exists()
    assert recs["empty"]["exercises"][0]["status"] == "no file"
    assert all(t["outcome"] == "no result" for t in recs["empty"]["exercises"][0]["tests"])
    assert "tensor_basics.py is not in the submission" in recs["empty"]["exercises"][0]["tests"][0]["message"]
    forged = {t["name"]: t for t in recs["forger"]["exercises"][0]["tests"]}
    assert not forged["test_outer_sum"]["passed"] and score["forger"] == full - ex.points_for("test_outer_sum")
    half = {t["name"]: t["passed"] for t in recs["half-done"]["exercises"][0]["tests"]}
    assert sum(half.values()) == 7 and not half["test_row_means"] and half["test_outer_sum"]
    # partly correct submissions: the batch agrees with a direct check of the same file
    assert score["wrong-axis"] == direct_points(subs["wrong-axis"] / LAYOUT) < full
    assert score["unbiased"] == score["zipped"] == direct_points(subs["unbiased"] / LAYOUT) < full

    # hidden tests: the instructor's result has the message; nothing the learner gets echoes it
    unbiased = {t["name"]: t for t in recs["unbiased"]["exercises"][0]["tests"]}
    hidden = unbiased["test_normalize_columns"]
    assert hidden["visibility"] == "hidden" and not hidden["passed"] and "normalize_columns(" in hidden["message"]
    seen = learner_files(out / "submissions" / "unbiased")
    assert hidden["message"].splitlines()[0] not in seen and "normalize_columns(x" not in seen
    gs = json.loads((out / "submissions" / "unbiased" / "results.json").read_text())
    assert "visible tests passed" in gs["output"] and "score" not in gs
    gs_tests = {t["name"]: t for t in gs["tests"]}
    assert gs_tests["tensor-basics: test_normalize_columns"]["visibility"] == "hidden"
    assert gs_tests["tensor-basics: test_normalize_columns"]["output"] == "not passed"
    assert gs_tests["tensor-basics: test_row_means"]["visibility"] == "after_due_date"
    assert sum(t["score"] for t in gs["tests"]) == score["unbiased"]
    wrong_axis = learner_files(out / "submissions" / "wrong-axis")
    assert "row_means(" not in (out / "submissions" / "wrong-axis" / "feedback.md").read_text()
    assert "visible tests passed" in wrong_axis
    # the class summary
    per_ex = summary["exercises"][0]
    assert per_ex["slug"] == "tensor-basics" and per_ex["submissions"] == 15
    assert per_ex["passed"] == 5 and per_ex["pass_rate"] == round(5 / 15, 4)  # the killer's kill went nowhere
    assert per_ex["median_seconds"] > 0
    md = (out / "summary.md").read_text()
    assert "| tensor-basics | 5/15 |" in md and "| correct |" in md and "could not be graded" in md
    cls = ET.parse(out / "junit.xml").getroot()
    assert int(cls.get("tests")) == 15 * 11
    assert int(cls.get("failures")) == sum(11 - r["tests_passed"] for r in recs.values())
    assert "normalize_columns(" in (out / "junit.xml").read_text()  # the instructor's copy is complete


def test_unsandboxed_a_submission_that_kills_its_grader_costs_only_itself(content, tmp_path):
    """With --no-sandbox the killer's kill(getppid()) takes its grading process down: that
    submission gets an error result with every test as a failed line, the others are graded."""
    env = {"MI_EXERCISE_CONTENT": str(content)}
    killer, correct = folder(tmp_path / "class", "killer", KILLER), folder(tmp_path / "class", "correct", SOLUTION)
    out = tmp_path / "out"
    result = run_cli("grade", str(killer), str(correct), "--out", str(out), "--no-sandbox", env=env, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    rec = json.loads((out / "submissions" / "killer" / "result.json").read_text())
    assert rec["status"] == "error" and "without a result" in rec["error"] and rec["score"] == 0
    assert all(t["outcome"] == "no result" for t in rec["exercises"][0]["tests"])
    assert json.loads((out / "submissions" / "correct" / "result.json").read_text())["tests_passed"] == 11
    assert json.loads((out / "summary.json").read_text())["sandboxed"] is False
