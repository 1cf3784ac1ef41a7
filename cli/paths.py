"""Where the content folders (exercises, graders, templates, site) live.

In a checkout (and an editable install) they sit beside cli/ at the repository root; a wheel
carries them inside the package as mi_exercise/_content/<folder>. MI_EXERCISE_CONTENT points
at another root (an instructor's own copy of the course).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def content_root() -> Path:
    override = os.environ.get("MI_EXERCISE_CONTENT")
    if override:
        return Path(override).resolve()
    bundled = PACKAGE_DIR / "_content"
    if (bundled / "exercises").is_dir():
        return bundled
    return PACKAGE_DIR.parent


def describe_content_root(root: Path | None = None) -> str:
    """For error messages: where exercises were looked for, and why there."""
    root = root or content_root()
    if os.environ.get("MI_EXERCISE_CONTENT"):
        return f"the content root {root} (set by MI_EXERCISE_CONTENT)"
    return f"the content root {root} (the installed course; set MI_EXERCISE_CONTENT to use another)"


def exercises_dir(root: Path | None = None) -> Path:
    return (root or content_root()) / "exercises"


def graders_dir(root: Path | None = None) -> Path:
    return (root or content_root()) / "graders"


def templates_dir(root: Path | None = None) -> Path:
    return (root or content_root()) / "templates"


def site_assets_dir(root: Path | None = None) -> Path:
    return (root or content_root()) / "site"


def user_dir(kind: str) -> Path:
    """This user's "cache" or "data" folder for mi-exercise (XDG, else ~/.cache, ~/.local/share):
    the sandbox's probe and filter, the last good copies of progress. Never inside a sandbox."""
    env, default = {"cache": ("XDG_CACHE_HOME", ".cache"), "data": ("XDG_DATA_HOME", ".local/share")}[kind]
    base = os.environ.get(env) or str(Path.home() / default)
    return Path(base).resolve() / "mi-exercise"


def stamp_tree(digest, top: Path, skip_dirs=("__pycache__",), skip_suffixes=(".pyc",)) -> None:
    """Feed `digest` each file under `top` as (path relative to it, size, mtime), in a stable
    order: what changes when a file is edited, added or removed, without reading any of them
    (the reference cache's key, the check server's staleness)."""
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(tuple(skip_suffixes)):
                continue
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            digest.update(f"{os.path.relpath(path, top)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())

