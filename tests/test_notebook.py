"""Notebooks: `mi-exercise notebook` writes valid .ipynb files, and `check` grades the cells
tagged "solution" of a notebook that is newer than the learner's .py."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest

from mi_exercise.site_builder.stubinfo import parse_stub
from tests.conftest import REPO, SOLUTIONS

LEARNER = "00-foundations/tensor_basics.py"
NOTEBOOK = "00-foundations/tensor_basics.ipynb"


def fill_with_solution(nb_path: Path, chapter: str = "foundations", slug: str = "tensor-basics") -> None:
    """Replace each stub function cell with the reference solution's function (as a learner would)."""
    solution = {it.name: it.source for it in parse_stub(SOLUTIONS / chapter / slug / "solution.py").items}
    nb = nbformat.read(str(nb_path), as_version=4)
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []):
            names = [it.name for it in parse_stub_source(cell.source)]
            if len(names) == 1 and names[0] in solution:
                cell.source = solution[names[0]]
                replaced += 1
    assert replaced == len(solution)
    nbformat.write(nb, str(nb_path))


def parse_stub_source(source: str):
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    try:
        return parse_stub(Path(f.name)).items
    finally:
        os.unlink(f.name)


def test_notebooks_for_every_exercise_are_valid(cli, tmp_path):
    out = tmp_path / "nbs"
    result = cli("notebook", "--all", "--out", str(out))
    assert result.returncode == 0, result.stderr
    listing = json.loads(cli("list", "--json").stdout)["exercises"]
    files = sorted(out.glob("*.ipynb"))
    assert len(files) == len(listing) >= 1
    for path in files:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
        kinds = [c.cell_type for c in nb.cells]
        assert kinds.count("markdown") >= 3
        solution = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
        assert len(solution) >= 2 and all(c.cell_type == "code" for c in solution)
        assert "check" in nb.cells[-1].metadata["tags"]
        assert f'"check", "{nb.metadata["mi_exercise"]["slug"]}"' in nb.cells[-1].source
    tb = nbformat.read(str(out / "tensor_basics.ipynb"), as_version=4)
    assert tb.cells[0].source.startswith("# Tensor basics")
    assert any("def arange_grid(rows: int, cols: int) -> torch.Tensor:" in c.source for c in tb.cells)
    assert any("$$" in c.source for c in tb.cells if c.cell_type == "markdown")  # maths kept for Jupyter


def test_notebook_keeps_existing_files_and_rejects_bad_arguments(cli, workspace):
    first = cli("notebook", "tensor-basics", cwd=workspace)
    assert first.returncode == 0 and (workspace / NOTEBOOK).is_file()
    (workspace / NOTEBOOK).write_text("my work")
    again = cli("notebook", "tensor-basics", cwd=workspace)
    assert again.returncode == 0 and "kept" in again.stdout
    assert (workspace / NOTEBOOK).read_text() == "my work"
    assert cli("notebook", cwd=workspace).returncode == 2
    unknown = cli("notebook", "tensor-basic", cwd=workspace)
    assert unknown.returncode == 2 and "Did you mean: tensor-basics" in unknown.stderr


def test_check_grades_the_solution_cells_of_a_newer_notebook(cli, workspace):
    stub_text = (workspace / LEARNER).read_text()
    assert cli("notebook", "tensor-basics", cwd=workspace).returncode == 0
    nb_path = workspace / NOTEBOOK
    fill_with_solution(nb_path)
    nb = nbformat.read(str(nb_path), as_version=4)
    # an untagged scratch cell is ignored, even one that would break the module
    nb.cells.insert(-1, nbformat.v4.new_code_cell("raise SystemExit('scratch')\n%timeit 1"))
    nbformat.write(nb, str(nb_path))
    result = cli("check", "tensor-basics", cwd=workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Grading the solution cells of tensor_basics.ipynb" in result.stdout
    assert (workspace / LEARNER).read_text() == stub_text  # learner files untouched
    extracted = workspace / ".mi-exercise" / "notebooks" / "tensor_basics.py"
    assert "def arange_grid" in extracted.read_text() and "scratch" not in extracted.read_text()
    # the .py saved later wins again: it is the stub, so the check fails
    later = time.time() + 5
    os.utime(workspace / LEARNER, (later, later))
    stub = cli("check", "tensor-basics", cwd=workspace)
    assert stub.returncode == 1 and "not implemented yet" in stub.stdout


def test_broken_or_untagged_notebook_is_a_clear_error(cli, workspace):
    nb_path = workspace / NOTEBOOK
    nb_path.write_text("{ not json")
    broken = cli("check", "tensor-basics", cwd=workspace)
    assert broken.returncode == 2 and "tensor_basics.ipynb is not a valid notebook" in broken.stderr
    assert "Traceback" not in broken.stderr
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), str(nb_path))
    untagged = cli("check", "tensor-basics", cwd=workspace)
    assert untagged.returncode == 2 and "no code cell tagged 'solution'" in untagged.stderr


@pytest.mark.slow
def test_notebook_runs_end_to_end_in_a_real_kernel_including_its_check(cli, workspace):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    assert cli("notebook", "tensor-basics", cwd=workspace).returncode == 0
    nb_path = workspace / NOTEBOOK
    fill_with_solution(nb_path)
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.cells.insert(-2, nbformat.v4.new_code_cell("print(arange_grid(2, 3).tolist())"))  # the learner tries it
    env_before = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                         resources={"metadata": {"path": str(nb_path.parent)}})
        client.execute()
    finally:
        if env_before is not None:
            os.environ["PYTEST_CURRENT_TEST"] = env_before
    outputs = lambda cell: "".join(o.get("text", "") for o in cell.get("outputs", []))  # noqa: E731
    assert "[[0, 1, 2], [3, 4, 5]]" in outputs(nb.cells[-3])
    check_out = outputs(nb.cells[-1])
    assert "PASSED" in check_out, check_out
    assert "tensor-basics" in check_out
    progress = json.loads(cli("progress", "--json", cwd=workspace).stdout)
    assert progress["history"][0]["status"] == "passed"
