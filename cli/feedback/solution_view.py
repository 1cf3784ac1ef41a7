"""`mi-exercise solution SLUG`: the reference solution, shown by the trusted CLI (never written
into the workspace, so no check and no sandboxed worker can read it).

After a pass it is shown at once, as rustlings and exercism do; before one it is like a last
hint, so the CLI asks first and the progress store records that it was seen early.
"""

from __future__ import annotations

from rich.console import Console
from rich.syntax import Syntax

from mi_exercise.catalog.model import Exercise


class SolutionUnavailable(Exception):
    """The exercise ships no reference solution (a content problem: exit status 2)."""


def reference_solution(exercise: Exercise) -> str:
    try:
        return exercise.solution_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SolutionUnavailable(f"{exercise.slug} has no reference solution to show ({exc.strerror}: "
                                  f"{exercise.solution_path})") from None


def render_solution(out: Console, exercise: Exercise, text: str) -> None:
    """Highlighted on a terminal; the plain text when piped or redirected (so it can be saved)."""
    if not out.is_terminal:
        out.file.write(text if text.endswith("\n") else text + "\n")
        return
    out.print(f"[bold]Reference solution for {exercise.slug}[/bold] ({exercise.learner_filename})\n")
    out.print(Syntax(text, "python", line_numbers=True, word_wrap=False, background_color="default"))
