"""A real wheel (`pip install .` into a fresh venv) carries the exercises, graders and templates."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO


def test_wheel_contains_content_and_no_top_level_cli_module(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(REPO)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("mi_exercise-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "mi_exercise/_content/exercises/chapters.toml" in names
    assert "mi_exercise/_content/graders/foundations/tensor-basics/solution.py" in names
    assert "mi_exercise/_content/exercises/foundations/tensor-basics/stub.py" in names
    assert any(n.startswith("mi_exercise/_content/graders/foundations/tensor-basics/mutants/") for n in names)
    assert "mi_exercise/runner/worker.py" in names
    tops = {n.split("/")[0] for n in names}
    assert not tops & {"cli", "graders", "exercises", "templates", "site", "tests"}
    assert not any("__pycache__" in n for n in names)


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_checks_and_validates(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True, timeout=900)
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(REPO)], check=True, timeout=1800, cwd=tmp_path)
    where = subprocess.run([str(py), "-c", "import mi_exercise.paths as p; print(p.content_root())"],
                           check=True, capture_output=True, text=True, cwd=tmp_path).stdout.strip()
    assert where.endswith("mi_exercise/_content") and str(venv) in where
    exe = venv / "bin" / "mi-exercise"
    listing = json.loads(subprocess.run([str(exe), "list", "--json"], check=True, capture_output=True, text=True,
                                        cwd=tmp_path).stdout)
    assert listing["exercises"][0]["slug"] == "tensor-basics"
    valid = subprocess.run([str(exe), "validate", "tensor-basics"], capture_output=True, text=True, cwd=tmp_path)
    assert valid.returncode == 0, valid.stdout + valid.stderr
