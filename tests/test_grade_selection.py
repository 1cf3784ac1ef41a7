"""`grade` grades each submission against the exercises it holds (issue 17, item 6): a
one-exercise notebook is scored out of that exercise's points, not the whole course's."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat

from conftest import REPO, copy_content, run_cli

from mi_exercise.catalog.loader import load_catalog
from mi_exercise.instructor.submissions import held_exercises, make_ids

TB_SOLUTION = (REPO / "graders/foundations/tensor-basics/solution.py").read_text()
EINSUM_SOLUTION = (REPO / "graders/foundations/einsum/solution.py").read_text()


def notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# my work"), nbformat.v4.new_code_cell(source)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def test_held_exercises_reads_each_kind_without_running_it(tmp_path):
    catalog = load_catalog(REPO)
    every = list(catalog.exercises)
    nb = notebook(tmp_path / "nb" / "tensor_basics.ipynb", TB_SOLUTION)
    (tmp_path / "folder" / "00-foundations").mkdir(parents=True)
    (tmp_path / "folder" / "00-foundations" / "einsum.py").write_text(EINSUM_SOLUTION)
    (tmp_path / "folder" / "notes.py").write_text("")
    with zipfile.ZipFile(tmp_path / "both.zip", "w") as zf:
        zf.writestr("00-foundations/einsum.py", EINSUM_SOLUTION)
        zf.writestr("00-foundations/tensor_basics.py", TB_SOLUTION)
    (tmp_path / "empty").mkdir()
    subs = {s.id: s for s in make_ids([nb, tmp_path / "folder", tmp_path / "both.zip", tmp_path / "empty"])}
    held = {ident: [ex.slug for ex in held_exercises(sub, catalog, every)] for ident, sub in subs.items()}
    assert held["tensor_basics"] == ["tensor-basics"]
    assert held["folder"] == ["einsum"]
    assert held["both"] == ["tensor-basics", "einsum"]
    assert len(held["empty"]) == len(every)  # holds nothing: every test a failed line, as before


def test_grade_scores_a_notebook_against_its_own_exercise_unless_told(tmp_path):
    content = copy_content(tmp_path / "content", ["tensor-basics", "einops-rearrange-reduce-repeat", "einsum"])
    env = {"MI_EXERCISE_CONTENT": str(content)}
    nb = notebook(tmp_path / "subs" / "tensor_basics.ipynb", TB_SOLUTION)
    folder = tmp_path / "subs" / "einsum-only"
    (folder / "00-foundations").mkdir(parents=True)
    (folder / "00-foundations" / "einsum.py").write_text(EINSUM_SOLUTION)
    r = run_cli("grade", str(nb), str(folder), "--out", str(tmp_path / "out"), env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    learners = {x["id"]: x for x in summary["learners"]}
    catalog = load_catalog(content)
    tb_points = 11 + 2  # 11 tests, two of them worth 2
    assert learners["tensor_basics"]["exercises"] == {"tensor-basics": tb_points}
    assert learners["tensor_basics"]["score"] == learners["tensor_basics"]["max_score"] == tb_points
    assert list(learners["einsum-only"]["exercises"]) == ["einsum"]
    assert learners["einsum-only"]["percent"] == 100
    per_ex = {e["slug"]: e for e in summary["exercises"]}
    assert per_ex["tensor-basics"]["submissions"] == per_ex["einsum"]["submissions"] == 1
    assert catalog.get("einsum")  # both exist in the course; each learner was graded on one

    r = run_cli("grade", str(nb), "--out", str(tmp_path / "out2"), "--exercises", "tensor-basics,einsum", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    rec = json.loads((tmp_path / "out2" / "submissions" / "tensor_basics" / "result.json").read_text())
    assert [e["slug"] for e in rec["exercises"]] == ["tensor-basics", "einsum"]
    assert rec["exercises"][1]["status"] == "no file" and rec["score"] == tb_points < rec["max_score"]
