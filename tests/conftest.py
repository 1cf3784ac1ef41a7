"""Shared fixtures: run the real CLI in a subprocess inside temporary workspaces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# No test starts a check server by chance (a cold `check` starts one in the background): the
# tests of the server, and of the warm worker it holds, turn it on for themselves.
os.environ["MI_EXERCISE_SERVER"] = "off"
SERVER_ON = {"MI_EXERCISE_SERVER": "on"}
SOLUTIONS = REPO / "graders"


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300,
            input: str | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PYTEST_CURRENT_TEST", None)
    return subprocess.run([sys.executable, "-m", "mi_exercise", *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout, input=input)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def workspace(tmp_path) -> Path:
    ws = tmp_path / "ws"
    result = run_cli("init", str(ws))
    assert result.returncode == 0, result.stderr
    return ws


def copy_content(dest: Path, slugs: list[str] | None = None) -> Path:
    """A copy of the course content (optionally only some exercises) an instructor may edit."""
    (dest / "exercises").mkdir(parents=True)
    shutil.copy(REPO / "exercises" / "chapters.toml", dest / "exercises" / "chapters.toml")
    for toml in (REPO / "exercises").glob("*/*/exercise.toml"):
        chapter, slug = toml.parent.parent.name, toml.parent.name
        if slugs is not None and slug not in slugs:
            continue
        shutil.copytree(toml.parent, dest / "exercises" / chapter / slug)
        shutil.copytree(REPO / "graders" / chapter / slug, dest / "graders" / chapter / slug,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("templates", "site"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, dest / folder)
    return dest


@pytest.fixture
def content(tmp_path) -> Path:
    """A private copy of tensor-basics' content; set MI_EXERCISE_CONTENT to use it."""
    return copy_content(tmp_path / "content", ["tensor-basics"])


def alive(pid: int | None) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def mutant_text(grader_dir: Path, name: str) -> str:
    """A mutant as a learner would submit it: the solution followed by the mutant's override."""
    from mi_exercise.validate import compose

    return compose(grader_dir / "solution.py", grader_dir / "mutants" / name)


def solution_text(chapter: str, slug: str) -> str:
    return (SOLUTIONS / chapter / slug / "solution.py").read_text()


def solution_module(chapter: str, slug: str):
    """An exercise's reference solution (graders/<chapter>/<slug>/solution.py), imported."""
    import importlib.util

    path = SOLUTIONS / chapter / slug / "solution.py"
    spec = importlib.util.spec_from_file_location(f"reference_{slug.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
