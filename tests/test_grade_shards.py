"""`grade --shard K/N` + `merge` give the same summary as one run; `check --all --ci` writes JUnit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import REPO, mutant_text, run_cli

GR = REPO / "graders" / "foundations" / "tensor-basics"
LAYOUT = Path("00-foundations") / "tensor_basics.py"
SCHEMA = json.loads((REPO / "docs" / "grade-result.schema.json").read_text())
TIMING = {"generated_at", "shards", "median_seconds", "seconds", "graded_at"}


def small_class(root: Path) -> list[Path]:
    subs = []
    for name, text in [("alice", (GR / "solution.py").read_text()), ("bob", mutant_text(GR, "unbiased_std.py")),
                       ("carol", (REPO / "exercises" / "foundations" / "tensor-basics" / "stub.py").read_text()),
                       ("dan", None)]:
        sub = root / name
        (sub / LAYOUT).parent.mkdir(parents=True)
        if text is not None:
            (sub / LAYOUT).write_text(text)
        subs.append(sub)
    (root / "eve.zip").write_bytes(b"not a zip")
    return [*subs, root / "eve.zip"]


def without_timing(value):
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


@pytest.mark.slow
def test_shards_merge_to_the_same_summary_as_one_run(content, tmp_path):
    env = {"MI_EXERCISE_CONTENT": str(content)}
    subs = [str(s) for s in small_class(tmp_path / "class")]
    one = run_cli("grade", *subs, "--out", str(tmp_path / "one"), "--jobs", "2", env=env)
    assert one.returncode == 1, one.stderr  # eve's zip cannot be graded
    for k in (1, 2):
        r = run_cli("grade", *subs, "--out", str(tmp_path / f"s{k}"), "--shard", f"{k}/2", env=env)
        assert r.returncode in (0, 1), r.stderr
    s1 = json.loads((tmp_path / "s1" / "summary.json").read_text())
    s2 = json.loads((tmp_path / "s2" / "summary.json").read_text())
    assert s1["submissions"] == 3 and s2["submissions"] == 2 and s1["submissions_total"] == 5
    assert not set(s1["shards"][0]["submissions"]) & set(s2["shards"][0]["submissions"])

    merged = run_cli("merge", str(tmp_path / "s2"), str(tmp_path / "s1"), "--out", str(tmp_path / "merged"), env=env)
    assert merged.returncode == 1, merged.stderr
    a = json.loads((tmp_path / "one" / "summary.json").read_text())
    b = json.loads((tmp_path / "merged" / "summary.json").read_text())
    jsonschema.validate(b, SCHEMA)
    assert without_timing(a) == without_timing(b)
    assert [s["index"] for s in b["shards"]] == [1, 2]
    scores = {l["id"]: l["score"] for l in b["learners"]}
    assert scores["alice"] == 13 and scores["carol"] == scores["dan"] == scores["eve"] == 0 and 0 < scores["bob"] < 13
    for sub in ("alice", "bob", "carol", "dan", "eve"):
        one_rec = json.loads((tmp_path / "one" / "submissions" / sub / "result.json").read_text())
        merged_rec = json.loads((tmp_path / "merged" / "submissions" / sub / "result.json").read_text())
        assert without_timing(one_rec) == without_timing(merged_rec)
    assert (tmp_path / "merged" / "summary.md").read_text().count("\n| ") >= 5
    assert ET.parse(tmp_path / "merged" / "junit.xml").getroot().get("tests") == str(5 * 11)

    # a missing or repeated shard is refused, not silently summarised
    lonely = run_cli("merge", str(tmp_path / "s1"), "--out", str(tmp_path / "bad"), env=env)
    assert lonely.returncode == 2 and "missing 2" in lonely.stderr
    twice = run_cli("merge", str(tmp_path / "s1"), str(tmp_path / "s1"), "--out", str(tmp_path / "bad"), env=env)
    assert twice.returncode == 2 and "is in both" in twice.stderr


@pytest.mark.parametrize("shard, words", [("3/2", "between 1 and N"), ("x", "K/N"), ("0/1", "between 1 and N")])
def test_bad_shard_is_a_usage_error(content, tmp_path, shard, words):
    r = run_cli("grade", str(tmp_path), "--out", str(tmp_path / "o"), "--shard", shard,
                env={"MI_EXERCISE_CONTENT": str(content)})
    assert r.returncode == 2 and words in r.stderr


def test_unknown_exercise_is_a_usage_error(content, tmp_path):
    r = run_cli("grade", str(tmp_path), "--out", str(tmp_path / "o"), "--exercises", "tensor-basic",
                env={"MI_EXERCISE_CONTENT": str(content)})
    assert r.returncode == 2 and "did you mean tensor-basics" in r.stderr


@pytest.mark.slow
def test_check_all_ci_writes_junit_and_step_summary(content, tmp_path):
    env = {"MI_EXERCISE_CONTENT": str(content), "GITHUB_STEP_SUMMARY": str(tmp_path / "step.md")}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    (ws / LAYOUT).write_text(mutant_text(GR, "row_means_wrong_axis.py"))
    r = run_cli("check", "--all", "--ci", "--junit", str(tmp_path / "junit.xml"), cwd=ws, env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    root = ET.parse(tmp_path / "junit.xml").getroot()
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 11 and root.get("failures") == "1"
    failed = [c for c in cases if c.find("failure") is not None]
    assert failed[0].get("name") == "test_row_means" and "row_means(" in failed[0].find("failure").text
    assert "| tensor-basics | 10/11 |" in (tmp_path / "step.md").read_text()
    # a missing file fails every test of its exercise instead of vanishing from the report
    (ws / LAYOUT).unlink()
    r = run_cli("check", "--all", "--ci", "--junit", str(tmp_path / "junit2.xml"), cwd=ws, env=env)
    assert r.returncode == 1
    root = ET.parse(tmp_path / "junit2.xml").getroot()
    assert root.get("tests") == "11" and root.get("failures") == "11"
