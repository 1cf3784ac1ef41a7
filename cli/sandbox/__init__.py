"""The sandbox learner code runs in (bwrap + seccomp), and the choice of whether to use it.

`choose(mode)` decides for one command: "auto" (check, watch, validate: sandboxed whenever a
sandbox works here, else a one-line notice), "require" (--sandbox, and grade by default:
refuse when there is none), "off" (--no-sandbox).
"""

from __future__ import annotations

import os

from mi_exercise.paths import user_dir
from mi_exercise.sandbox.bwrap import Sandbox, SandboxUnavailable, probe

__all__ = ["Sandbox", "SandboxUnavailable", "choose", "probe", "user_dir", "mode_from_flags", "workspace_view", "content_view"]

# For the project's own test suite and for machines where the sandbox breaks something:
# MI_EXERCISE_SANDBOX=off makes "auto" commands run unsandboxed (grade still needs --no-sandbox).
ENV = "MI_EXERCISE_SANDBOX"


def mode_from_flags(sandbox: bool | None, default: str = "auto") -> str:
    """--sandbox (True), --no-sandbox (False) or neither (None) as a mode."""
    if sandbox is True:
        return "require"
    if sandbox is False:
        return "off"
    if default == "auto" and os.environ.get(ENV, "").lower() in ("off", "0", "no"):
        return "off"
    return default


def choose(mode: str) -> tuple[Sandbox | None, str]:
    """(the sandbox to use or None, why not). Raises SandboxUnavailable when mode is
    "require" and no sandbox works here."""
    if mode == "off":
        return None, "--no-sandbox"
    try:
        return probe(), ""
    except SandboxUnavailable as exc:
        if mode == "require":
            raise
        return None, str(exc)


def workspace_view(root, learner_file=None) -> tuple[list, list]:
    """(readable, hidden) for learner code of the workspace at `root`: the learner's own files,
    not its .mi-exercise/ (progress, backups, the warm worker's state), except the notebook
    cells extracted to .mi-exercise/notebooks/ for grading."""
    from pathlib import Path

    from mi_exercise.workspace.workspace import STATE_DIR

    root = Path(root).resolve()
    readable = [root, root / STATE_DIR / "notebooks"]
    if learner_file is not None:
        readable.append(Path(learner_file).resolve().parent)
    return [p for p in readable if p.is_dir()], [root / STATE_DIR]


def content_view() -> list:
    """What validate's sandbox reads: the course content, graders and solutions included."""
    from mi_exercise import paths

    return [paths.content_root(), paths.graders_dir(), paths.exercises_dir()]
