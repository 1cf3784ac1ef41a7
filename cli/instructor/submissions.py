"""What a learner hands in, and how to find each exercise's file in it.

A SUBMISSION is a workspace folder, a git checkout (a folder; its .git is ignored), a zip file
or a Jupyter notebook (.ipynb). `materialize` turns it into a private folder of files so that
grading never runs code in, or writes to, the original.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from mi_exercise.catalog.model import Catalog, Exercise

SKIP_DIRS = {".git", ".mi-exercise", "__pycache__", ".ipynb_checkpoints", "node_modules", ".venv", "venv"}
MAX_ZIP_BYTES = 64 << 20  # unpacked size of one submission
MAX_ZIP_FILES = 5000


class SubmissionError(Exception):
    """The submission cannot be read at all (not a zip, unsafe paths, ...): it gets an error result."""


@dataclass
class Submission:
    id: str
    source: Path
    kind: str  # folder | git | zip | notebook | missing


@dataclass
class Materialized:
    root: Path
    files: dict[str, Path] = field(default_factory=dict)  # slug -> learner file
    notes: dict[str, str] = field(default_factory=dict)  # slug -> why no file / which one was picked


def submission_kind(path: Path) -> str:
    if path.is_dir():
        return "git" if (path / ".git").exists() else "folder"
    if path.suffix == ".zip":
        return "zip"
    if path.suffix == ".ipynb":
        return "notebook"
    if not path.exists():
        return "missing"
    return "unknown"


def make_ids(paths: list[Path]) -> list[Submission]:
    """Stable, file-name-safe ids from the paths' names; duplicates get -2, -3, ..."""
    out, used = [], set()
    for p in paths:
        p = Path(p)
        stem = p.name[: -len(p.suffix)] if p.suffix in (".zip", ".ipynb") else p.name
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "submission"
        ident, n = base, 1
        while ident in used:
            n += 1
            ident = f"{base}-{n}"
        used.add(ident)
        out.append(Submission(ident, p.resolve(), submission_kind(p)))
    return out


def _copy_folder(src: Path, dest: Path) -> None:
    def ignore(folder, names):
        return [n for n in names if n in SKIP_DIRS or n.endswith(".pyc")]

    shutil.copytree(src, dest, ignore=ignore, symlinks=True, dirs_exist_ok=True)
    for link in list(dest.rglob("*")):  # a symlink could point at another learner's work
        if link.is_symlink():
            link.unlink()


def _extract_zip(src: Path, dest: Path) -> None:
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{src.name} is not a readable zip file ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_FILES:
            raise SubmissionError(f"{src.name} holds {len(infos)} files (at most {MAX_ZIP_FILES})")
        if sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
            raise SubmissionError(f"{src.name} unpacks to more than {MAX_ZIP_BYTES >> 20} MiB")
        root = dest.resolve()
        for info in infos:
            target = (dest / info.filename).resolve()
            if not target.is_relative_to(root):
                raise SubmissionError(f"{src.name} contains an unsafe path: {info.filename!r}")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                continue  # a symlink entry: skipped
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as fh, open(target, "wb") as out:
                shutil.copyfileobj(fh, out)


def notebook_modules(src: Path, catalog: Catalog) -> dict[str, str]:
    """Code cells of a notebook as module source, per exercise.

    A cell belongs to the exercise named in its metadata (`mi_exercise: {slug: ...}`, as a
    generated notebook writes it) or else to the notebook's own exercise: the one named in the
    notebook's metadata, or whose slug / module name is the file's stem. IPython lines
    (`%magic`, `!shell`) are dropped."""
    import nbformat

    try:
        nb = nbformat.read(str(src), as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable notebook
        raise SubmissionError(f"{src.name} is not a readable notebook ({type(exc).__name__}: {exc})") from None
    default = (nb.metadata.get("mi_exercise") or {}).get("slug")
    if default is None:
        for ex in catalog.exercises:
            if src.stem in (ex.slug, ex.module_name):
                default = ex.slug
    from mi_exercise.site_builder.notebook import CHECK_TAG, SOLUTION_TAG

    # A notebook from `mi-exercise notebook` marks its answer cells "solution" (as `check` reads
    # them); then only those count. Never run a cell tagged "check": it starts a check itself.
    tagged = any(SOLUTION_TAG in (c.metadata.get("tags") or []) for c in nb.cells if c.cell_type == "code")
    chunks: dict[str, list[str]] = {}
    for cell in nb.cells:
        tags = cell.metadata.get("tags") or []
        if cell.cell_type != "code" or CHECK_TAG in tags or (tagged and SOLUTION_TAG not in tags):
            continue
        slug = (cell.metadata.get("mi_exercise") or {}).get("slug") or default
        if slug is None:
            continue
        lines = [ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        chunks.setdefault(slug, []).append("\n".join(lines))
    if not chunks:
        raise SubmissionError(f"{src.name}: no code cells name an exercise (set the notebook's metadata "
                              "mi_exercise.slug, or name the file after the exercise)")
    return {slug: "\n\n".join(parts) + "\n" for slug, parts in chunks.items()}


def find_learner_file(root: Path, catalog: Catalog, ex: Exercise) -> tuple[Path | None, str]:
    """The workspace layout first (`NN-chapter/<module>.py`), then the shallowest file of that name."""
    from mi_exercise.workspace.workspace import chapter_folder

    layout = root / chapter_folder(catalog, ex) / ex.learner_filename
    if layout.is_file():
        return layout, ""
    found = sorted((p for p in root.rglob(ex.learner_filename)
                    if p.is_file() and not set(p.relative_to(root).parts) & SKIP_DIRS),
                   key=lambda p: (len(p.parts), str(p)))
    if not found:
        return None, f"{ex.learner_filename} is not in the submission"
    note = "" if len(found) == 1 else f"{len(found)} files named {ex.learner_filename}; graded {found[0].relative_to(root)}"
    return found[0], note


def held_exercises(sub: Submission, catalog: Catalog, candidates: list[Exercise]) -> list[Exercise]:
    """The candidates whose file the submission holds (a notebook: the exercises its cells
    name), read without running anything; all candidates when it holds none or cannot be read,
    so that such a submission still gets a line for every test."""
    names: set[str] = set()
    if sub.kind in ("folder", "git"):
        names = {p.name for p in sub.source.rglob("*.py") if not set(p.relative_to(sub.source).parts) & SKIP_DIRS}
    elif sub.kind == "zip":
        try:
            with zipfile.ZipFile(sub.source) as zf:
                names = {Path(n).name for n in zf.namelist()}
        except (zipfile.BadZipFile, OSError):
            return list(candidates)
    elif sub.kind == "notebook":
        try:
            slugs = set(notebook_modules(sub.source, catalog))
        except SubmissionError:
            return list(candidates)
        names = {catalog.get(s).learner_filename for s in slugs if s in catalog}
    held = [ex for ex in candidates if ex.learner_filename in names]
    return held or list(candidates)


def materialize(sub: Submission, catalog: Catalog, exercises: list[Exercise], dest: Path) -> Materialized:
    """Copy or unpack the submission into dest and find each exercise's file there."""
    dest.mkdir(parents=True, exist_ok=True)
    if sub.kind in ("folder", "git"):
        _copy_folder(sub.source, dest)
    elif sub.kind == "zip":
        _extract_zip(sub.source, dest)
    elif sub.kind == "notebook":
        for slug, text in notebook_modules(sub.source, catalog).items():
            if slug in catalog:
                (dest / catalog.get(slug).learner_filename).write_text(text)
    elif sub.kind == "missing":
        raise SubmissionError(f"{sub.source} does not exist")
    else:
        raise SubmissionError(f"{sub.source.name}: not a folder, a .zip or an .ipynb notebook")
    m = Materialized(dest)
    for ex in exercises:
        path, note = find_learner_file(dest, catalog, ex)
        if path is not None:
            m.files[ex.slug] = path
        if note:
            m.notes[ex.slug] = note
    return m
