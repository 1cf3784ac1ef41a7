"""`mi-exercise new` and docs/authoring.md: the guide's steps run, in order, in a temp content root."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

GUIDE = REPO / "docs" / "authoring.md"
FENCE = re.compile(r"^```(\w+)(?: (file|append)=(\S+))?\n(.*?)^```\n", re.S | re.M)


def guide_steps() -> list[tuple[str, str, str]]:
    """(kind, target, body) for every fenced block: console commands, files written or appended."""
    steps = []
    for lang, action, target, body in FENCE.findall(GUIDE.read_text()):
        if lang == "console":
            for line in body.splitlines():
                if line.startswith("$ "):
                    steps.append(("run", "", line[2:]))
        elif action:
            steps.append((action, target, body))
    return steps


def test_the_guide_has_steps_of_every_kind():
    kinds = [k for k, _, _ in guide_steps()]
    assert kinds.count("run") >= 5 and kinds.count("file") >= 7 and "append" in kinds


@pytest.mark.slow
def test_every_step_of_the_authoring_guide_works(tmp_path):
    from tests.conftest import copy_content

    content = copy_content(tmp_path / "course")  # the whole course: `new --like` copies one of its exercises
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    ran = []
    for kind, target, body in guide_steps():
        if kind == "file":
            path = content / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
            continue
        if kind == "append":
            with open(content / target, "a") as fh:
                fh.write(body)
            continue
        command, _, comment = body.partition("  # ")
        expect = int(m.group(1)) if (m := re.match(r"exits (\d+)", comment)) else 0
        if command.startswith("export "):
            name, _, value = command[len("export "):].partition("=")
            env[name] = value.replace("$PWD", str(content))
            continue
        result = subprocess.run(["bash", "-c", command], cwd=content, env=env, text=True, capture_output=True,
                                timeout=300)
        assert result.returncode == expect, f"step `{command}`:\n{result.stdout}\n{result.stderr}"
        ran.append(command)
    assert any(c.startswith("mi-exercise new") for c in ran)
    assert sum(c.startswith("mi-exercise validate") for c in ran) == 5
    assert any("--like" in c for c in ran)
    # the finished exercises: all their mutants rejected, and the catalog lists them
    listing = run_cli("list", "--json", env={"MI_EXERCISE_CONTENT": str(content)})
    for slug in ("stable-softmax", "next-token-scores", "rms-norm"):
        assert slug in listing.stdout


@pytest.mark.parametrize("args, words", [
    (["new", "Bad_Name", "--chapter", "foundations"], "not a valid exercise name"),
    (["new", "row-sums", "--chapter", "nowhere"], "unknown chapter 'nowhere'"),
    (["new", "tensor-basics", "--chapter", "gpt2"], "exists already"),
    (["new", "row-sums"], "name the chapter: --chapter ID"),
    (["new", "row-sums", "--like", "tensor-basic"], "--like: unknown exercise 'tensor-basic' in the content root"),
])
def test_new_refuses_bad_input(content, args, words):
    before = sorted(p for p in content.rglob("*") if p.is_file())
    result = run_cli(*args, env={"MI_EXERCISE_CONTENT": str(content)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert words in result.stderr
    assert sorted(p for p in content.rglob("*") if p.is_file()) == before  # nothing written


def test_new_scaffold_is_complete_and_never_overwrites(content):
    env = {"MI_EXERCISE_CONTENT": str(content)}
    first = run_cli("new", "row-sums", "--chapter", "gpt2", env=env)
    assert first.returncode == 0, first.stderr
    ex_dir, gr_dir = content / "exercises" / "gpt2" / "row-sums", content / "graders" / "gpt2" / "row-sums"
    assert sorted(p.name for p in ex_dir.iterdir()) == ["exercise.toml", "page.md", "stub.py"]
    assert (gr_dir / "test_row_sums.py").is_file() and (gr_dir / "solution.py").is_file()
    assert len(list((gr_dir / "mutants").glob("*.py"))) == 3
    assert 'raise NotImplementedError("row_sums")' in (ex_dir / "stub.py").read_text()
    assert "{{" not in (ex_dir / "page.md").read_text() and "## Your task" in (ex_dir / "page.md").read_text()
    (ex_dir / "stub.py").write_text("# my edits\n")
    again = run_cli("new", "row-sums", "--chapter", "gpt2", env=env)
    assert again.returncode == 2 and "exists already" in again.stderr
    assert (ex_dir / "stub.py").read_text() == "# my edits\n"
    from mi_exercise.catalog.loader import load_catalog

    ex = load_catalog(content).get("row-sums")
    assert ex.order == 1 and ex.visibility_for("test_row_sums_edge_cases") == "hidden"
    assert ex.visibility_for("test_row_sums") == "visible"


def _first_doc_line(path: Path) -> str:
    import ast

    return (ast.get_docstring(ast.parse(path.read_text())) or "").splitlines()[0]


def test_new_like_copies_the_shape_of_a_model_exercise(tmp_path):
    """`new --like` (issue 17, item 5): needs, device, limits, default points and prerequisites
    come from the other exercise; a grader on the shipped model gets a model example whose
    grader uses shipped_model; the mutants are overrides whose first docstring line is the mistake."""
    from tests.conftest import copy_content

    from mi_exercise.catalog.checks import public_definitions
    from mi_exercise.catalog.loader import load_catalog

    content = copy_content(tmp_path / "course")
    env = {"MI_EXERCISE_CONTENT": str(content)}
    result = run_cli("new", "next-token-scores", "--like", "repeated-tokens", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Shaped like repeated-tokens (model exercise)" in result.stdout and "shipped_model" in result.stdout
    catalog = load_catalog(content)
    new, like = catalog.get("next-token-scores"), catalog.get("repeated-tokens")
    assert new.chapter == like.chapter and new.needs == like.needs == ("transformer_lens",)
    assert new.limits == like.limits and new.device == like.device and new.prerequisites == like.prerequisites
    assert new.points_for("anything") == like.points_for("anything")
    grader = new.grader_files[0].read_text()
    assert 'shipped_model("induction", device)' in grader and "submission.load_induction_model" not in grader
    solution_names = set(public_definitions(new.solution_path))
    for mutant in new.mutant_paths:
        first = _first_doc_line(mutant)
        assert first.startswith("next_token_scores ") and not first.startswith("Mutant"), first
        assert set(public_definitions(mutant)) <= solution_names  # only definitions it replaces
    # a tensor exercise as the model: the tensor example with that exercise's limits
    result = run_cli("new", "row-sums", "--like", "tensor-basics", env=env)
    assert result.returncode == 0, result.stderr
    row_sums = load_catalog(content).get("row-sums")
    assert row_sums.limits == catalog.get("tensor-basics").limits and row_sums.needs == ()
    assert "shipped_model" not in row_sums.grader_files[0].read_text()


@pytest.mark.slow
def test_the_model_scaffold_validates(tmp_path):
    from tests.conftest import copy_content

    content = copy_content(tmp_path / "course")
    env = {"MI_EXERCISE_CONTENT": str(content)}
    assert run_cli("new", "next-token-scores", "--like", "repeated-tokens", env=env).returncode == 0
    result = run_cli("validate", "next-token-scores", env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1/1 exercises valid" in result.stdout
