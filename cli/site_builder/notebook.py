"""Jupyter notebooks: one per exercise, and the learner's solution cells back out for `check`.

A notebook holds the page as Markdown cells (split at `## ` headings), the stub as code cells
tagged "solution" (cell metadata `tags`), and a last cell, tagged "check", that runs
`mi-exercise check SLUG`. Only cells tagged "solution" are graded: a learner may add scratch
cells freely, and tags a new cell "solution" to have it graded too.

Which file `check` grades (see Workspace.find_learner_file): when `<module>.ipynb` sits next to
`<module>.py` in the workspace and was saved more recently than the .py (or the .py is absent),
the notebook's solution cells are extracted, in order, to `.mi-exercise/notebooks/<module>.py`
and that file is graded. The learner's own files are never changed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from mi_exercise.catalog.model import Exercise
from mi_exercise.pages.markdown_page import render_page_markdown
from mi_exercise.site_builder.stubinfo import parse_stub

SOLUTION_TAG, CHECK_TAG = "solution", "check"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


class NotebookError(Exception):
    pass


def split_markdown(text: str) -> list[str]:
    """Split Markdown into cells at level-2 headings (never inside fenced code)."""
    cells, current, fence = [], [], None
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)[0]
        elif fence is not None and m and m.group(1)[0] == fence:
            fence = None
        if fence is None and line.startswith("## ") and any(l.strip() for l in current):
            cells.append("\n".join(current).strip("\n"))
            current = []
        current.append(line)
    if any(l.strip() for l in current):
        cells.append("\n".join(current).strip("\n"))
    return cells


def check_cell_source(exercise: Exercise) -> str:
    return (
        "# Grade your solution cells: save the notebook first (Ctrl+S / Cmd+S), the check reads the saved file.\n"
        "# This notebook must sit in your mi-exercise workspace, next to "
        f"{exercise.learner_filename} (`mi-exercise notebook {exercise.slug}` puts it there).\n"
        "import subprocess, sys\n"
        f'_check = subprocess.run([sys.executable, "-m", "mi_exercise", "check", "{exercise.slug}"],\n'
        "                        capture_output=True, text=True)\n"
        "print(_check.stdout + _check.stderr)\n"
        'print("PASSED" if _check.returncode == 0 else f"not passed yet (exit status {_check.returncode})")'
    )


def build_notebook(exercise: Exercise) -> nbformat.NotebookNode:
    """The exercise as a notebook (raises PageError or StubError with the exercise and line)."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    markdown = render_page_markdown(exercise)
    stub = parse_stub(exercise.stub_path)
    cells = [new_markdown_cell(part) for part in split_markdown(markdown)]
    cells.append(new_markdown_cell(
        "## Your code\n\n"
        "Fill in the cells below. Only cells tagged `solution` are graded (View → Cell Toolbar → Tags in "
        "Jupyter); add scratch cells as you like, and tag a new cell `solution` if your answer needs it. "
        "Run a cell to try your function here, then run the check at the end."))
    cells.append(new_code_cell(stub.header.strip("\n"), metadata={"tags": [SOLUTION_TAG]}))
    for item in stub.items:
        cells.append(new_code_cell(item.source.strip("\n"), metadata={"tags": [SOLUTION_TAG]}))
    cells.append(new_markdown_cell("## Check\n\nThe hidden grader runs your solution cells in a separate process."))
    cells.append(new_code_cell(check_cell_source(exercise), metadata={"tags": [CHECK_TAG]}))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "mi_exercise": {"slug": exercise.slug, "module": exercise.module_name},
    })
    nbformat.validate(nb)
    return nb


def write_notebook(exercise: Exercise, path: Path) -> Path:
    nb = build_notebook(exercise)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def _magic_safe(source: str) -> str:
    """IPython magics and shell escapes are not Python: keep them as comments, lines unchanged."""
    out = []
    for line in source.split("\n"):
        if line.lstrip().startswith(("%", "!")):
            out.append(line[: len(line) - len(line.lstrip())] + "# (notebook magic, skipped) " + line.lstrip())
        else:
            out.append(line)
    return "\n".join(out)


def solution_source(notebook_path: Path) -> str:
    """The solution cells of a notebook joined into one module's source. Raises NotebookError."""
    notebook_path = Path(notebook_path)
    try:
        nb = nbformat.read(str(notebook_path), as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise NotebookError(f"{notebook_path} is not a valid notebook (not JSON: {exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"cannot read {notebook_path}: {exc}") from None
    except Exception as exc:  # nbformat raises assorted errors for malformed notebooks
        raise NotebookError(f"{notebook_path} is not a valid notebook: {exc}") from None
    parts = []
    for n, cell in enumerate(nb.get("cells", []), 1):
        tags = cell.get("metadata", {}).get("tags", []) or []
        if cell.get("cell_type") == "code" and SOLUTION_TAG in tags:
            parts.append(f"# --- {notebook_path.name}, cell {n} ---\n{_magic_safe(cell.get('source', ''))}\n")
    if not parts:
        raise NotebookError(f"{notebook_path} has no code cell tagged '{SOLUTION_TAG}'; tag the cells with your "
                            "solution (cell metadata tags), or regenerate it with `mi-exercise notebook`")
    return (f"# Extracted by mi-exercise from the cells tagged '{SOLUTION_TAG}' in {notebook_path.name}.\n"
            "# Edit the notebook, not this file.\n\n" + "\n\n".join(parts))


def extract_solution(notebook_path: Path, dest: Path) -> Path:
    """Write the notebook's solution cells to dest (a .py) and return dest."""
    text = solution_source(notebook_path)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".py.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(dest)
    return dest
