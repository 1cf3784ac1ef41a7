"""What `site serve` watches: the content folders and the workspace's progress database."""

from __future__ import annotations

from pathlib import Path

from mi_exercise.paths import exercises_dir, site_assets_dir, templates_dir


def change_signature(workspace=None) -> tuple:
    """A fingerprint (path, mtime, size) of everything a rebuild depends on."""
    folders = [exercises_dir(), templates_dir(), site_assets_dir()]
    entries = []
    for folder in folders:
        if folder.is_dir():
            for p in sorted(folder.rglob("*")):
                if p.is_file() and "__pycache__" not in p.parts:
                    st = p.stat()
                    entries.append((str(p), st.st_mtime_ns, st.st_size))
    if workspace is not None:
        for name in ("progress.db", "progress.db-wal"):
            p = Path(workspace.state_dir) / name
            if p.exists():
                st = p.stat()
                entries.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(entries)
