"""The learner's own last results, for the pages' pictures: `.mi-exercise/results/<slug>.json`.

A grader may keep, from values the learner's code returned during a check, a few arrays to draw
beside the reference's (`record_figure(name, value)`, a fixture of runner/plugin.py). The trusted
side writes them after the check (`save_results`), and the site builder reads them back
(`load_results`) for the exercise's pictures hook (`context["learner_results"]`).

Only plain numbers get through, on both sides: each figure is a 1-D or 2-D array of floats
(non-finite values become null), at most MAX_CELLS numbers, at most MAX_FIGURES figures, names
of lower-case words; a file that breaks any rule (the learner may edit it) is ignored whole.
Nothing here decides a grade: the pictures only show what was recorded.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

MAX_FIGURES = 16
MAX_CELLS = 4096          # a 64 x 64 pattern
MAX_FILE_BYTES = 512 * 1024
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


class ResultError(ValueError):
    """A value a grader tried to record is not a small array of numbers."""


def _number(v) -> float | None:
    if v is None:  # how a non-finite value was saved
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ResultError(f"expected a number, got {type(v).__name__}")
    v = float(v)
    return round(v, 6) if math.isfinite(v) else None


def plain_array(value) -> list:
    """value (a tensor, numpy array or nested lists) as a 1-D or 2-D list of floats / None."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().double()
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ResultError("a recorded figure must be a non-empty 1-D or 2-D array of numbers")
    if all(isinstance(r, (list, tuple)) for r in value):
        cols = len(value[0])
        if cols == 0 or any(len(r) != cols for r in value):
            raise ResultError("a recorded 2-D figure needs rows of the same, non-zero length")
        if len(value) * cols > MAX_CELLS:
            raise ResultError(f"a recorded figure holds at most {MAX_CELLS} numbers, got {len(value) * cols}")
        return [[_number(v) for v in r] for r in value]
    if len(value) > MAX_CELLS:
        raise ResultError(f"a recorded figure holds at most {MAX_CELLS} numbers, got {len(value)}")
    return [_number(v) for v in value]


def clean_figures(figures: dict) -> dict[str, list]:
    """Check a whole {name: array} mapping; raises ResultError on the first problem."""
    if not isinstance(figures, dict) or len(figures) > MAX_FIGURES:
        raise ResultError(f"at most {MAX_FIGURES} recorded figures per exercise")
    out = {}
    for name, value in figures.items():
        if not isinstance(name, str) or not NAME.match(name):
            raise ResultError(f"a recorded figure's name must be lower-case letters, digits, '_', '.', '-': {name!r}")
        out[name] = plain_array(value)
    return out


def results_path(state_dir: Path, slug: str) -> Path:
    if not NAME.match(slug):
        raise ResultError(f"not an exercise name: {slug!r}")
    return Path(state_dir) / "results" / f"{slug}.json"


def save_results(state_dir: Path, slug: str, figures: dict, started_at: str = "") -> Path | None:
    """Write the check's recorded figures (trusted side, after the check); None when there are none.
    Written to a temporary file and renamed, so a reader never sees half a file."""
    if not figures:
        return None
    figures = clean_figures(figures)
    text = json.dumps({"slug": slug, "checked_at": started_at, "figures": figures}, separators=(",", ":"))
    if len(text) > MAX_FILE_BYTES:
        raise ResultError(f"the recorded figures take {len(text)} bytes, more than {MAX_FILE_BYTES}")
    path = results_path(state_dir, slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def save_check_figures(state_dir: Path, result) -> Path | None:
    """save_results for a CheckResult (runner/check.py); a problem writing them never fails the check."""
    try:
        return save_results(state_dir, result.slug, getattr(result, "figures", None) or {}, result.started_at)
    except (OSError, ResultError):
        return None


def load_results(state_dir: Path | None, slug: str) -> dict:
    """{"checked_at": str, "figures": {name: array}} from the workspace, or {} when there is no valid
    file (none yet, too large, not JSON, or anything but names and plain numbers)."""
    if state_dir is None:
        return {}
    try:
        path = results_path(state_dir, slug)
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("slug") != slug:
            return {}
        checked_at = data.get("checked_at", "")
        return {"checked_at": checked_at[:40] if isinstance(checked_at, str) else "",
                "figures": clean_figures(data.get("figures", {}))}
    except (OSError, ValueError, TypeError):
        return {}
