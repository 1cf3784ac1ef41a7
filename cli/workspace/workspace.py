"""A learner's workspace: stub files laid out by chapter and a .mi-exercise/ state folder.

Commands find the workspace from the current folder upwards, like git. Nothing here ever
overwrites a learner's file without being asked; `reset` keeps a backup.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

from mi_exercise import __version__
from mi_exercise.catalog.model import Catalog, Exercise
from mi_exercise.progress.store import ProgressStore

STATE_DIR = ".mi-exercise"


class WorkspaceError(Exception):
    pass


def chapter_folder(catalog: Catalog, exercise: Exercise) -> str:
    chapter = catalog.chapter(exercise.chapter)
    return f"{chapter.number:02d}-{chapter.id}"


@dataclass
class Workspace:
    root: Path

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @cached_property
    def progress(self) -> ProgressStore:
        """Opened (and checked, restored if need be) once per command."""
        return ProgressStore(self.state_dir / "progress.db")

    def learner_file(self, catalog: Catalog, exercise: Exercise) -> Path:
        return self.root / chapter_folder(catalog, exercise) / exercise.learner_filename

    def find_learner_file(self, catalog: Catalog, exercise: Exercise) -> Path:
        """The file to grade. A notebook `<module>.ipynb` beside the .py wins when it was saved
        more recently (or the .py is absent): its cells tagged "solution" are extracted to
        .mi-exercise/notebooks/<module>.py and that file is graded; the learner's files stay as they are."""
        path = self.learner_file(catalog, exercise)
        notebook = path.with_suffix(".ipynb")
        if notebook.exists() and (not path.exists() or notebook.stat().st_mtime > path.stat().st_mtime):
            from mi_exercise.site_builder.notebook import NotebookError, extract_solution

            try:
                return extract_solution(notebook, self.state_dir / "notebooks" / path.name)
            except NotebookError as exc:
                raise WorkspaceError(str(exc)) from None
        if not path.exists():
            raise WorkspaceError(
                f"{path.relative_to(self.root)} is missing; run `mi-exercise init` to add missing stubs "
                f"or `mi-exercise reset {exercise.slug}` to restore this one")
        return path


def find_workspace(start: Path | None = None) -> Workspace:
    from mi_exercise.progress.store import good_copy_path

    here = Path(start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / STATE_DIR).is_dir():
            return Workspace(folder)
    for folder in [here, *here.parents]:  # a workspace whose .mi-exercise/ was deleted: progress comes back
        if good_copy_path(folder / STATE_DIR / "progress.db").is_file():
            return Workspace(folder)
    raise WorkspaceError(f"no mi-exercise workspace in {here} or any folder above it; "
                         "create one with `mi-exercise init [DIR]`")


def init_workspace(root: Path, catalog: Catalog) -> tuple[Workspace, list[Path], list[Path]]:
    """Create (or complete) a workspace; returns it with the files added and the files kept."""
    root = Path(root).resolve()
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} exists and is not a folder")
    ws = Workspace(root)
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    meta = ws.state_dir / "workspace.json"
    if not meta.exists():
        meta.write_text(json.dumps({"created": datetime.now().isoformat(timespec="seconds"),
                                    "mi_exercise": __version__}, indent=2) + "\n")
    ws.progress  # creates the database
    added, kept = [], []
    for ex in catalog.exercises:
        target = ws.learner_file(catalog, ex)
        if target.exists():
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ex.stub_path, target)
        added.append(target)
    return ws, added, kept


def reset_exercise(ws: Workspace, catalog: Catalog, exercise: Exercise) -> Path | None:
    """Restore one stub; returns the backup of the learner's file (None if there was none)."""
    target = ws.learner_file(catalog, exercise)
    backup = None
    if target.exists():
        backups = ws.state_dir / "backups"
        backups.mkdir(exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        backup = backups / f"{target.stem}.{stamp}.py"
        shutil.copy2(target, backup)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(exercise.stub_path, target)
    return backup
