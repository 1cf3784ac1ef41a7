"""`grade` and `check` read the same cells of a generated notebook: the ones tagged
"solution", never the check cell (which would start a check from inside the worker)."""

from __future__ import annotations

import nbformat

from mi_exercise.catalog.loader import load_catalog
from mi_exercise.instructor.submissions import notebook_modules
from mi_exercise.site_builder.notebook import build_notebook, solution_source


def test_generated_notebook_grades_only_solution_cells(tmp_path):
    catalog = load_catalog()
    nb = build_notebook(catalog.get("tensor-basics"))
    nb.cells.insert(3, nbformat.v4.new_code_cell("scratch = 1 / 0"))
    path = tmp_path / "tensor_basics.ipynb"
    nbformat.write(nb, str(path))
    graded = notebook_modules(path, catalog)["tensor-basics"]
    assert "def arange_grid" in graded and "def scaled_copy" in graded
    assert "subprocess" not in graded and "1 / 0" not in graded
    checked = solution_source(path)
    assert "subprocess" not in checked and "1 / 0" not in checked
