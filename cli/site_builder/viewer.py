"""The interactive matrix viewer's figure kind: `{"kind": "viewer", ...}` in a pictures hook.

The page gets the data as JSON in a <script type="application/json"> and a static SVG of the first
matrix (what a reader without JavaScript sees); site/viewer.js turns it into a heatmap with a
selector (one matrix per head, say), a tooltip and a readout naming the row and column labels and
the value under the pointer, and values written in the cells when they are large enough. When
the figure carries the learner's own matrices ("learner", from .mi-exercise/results/), they are
drawn beside the reference's, for the same selection. No other host, no library.

    {"kind": "viewer", "title": str, "items": [{"name": str, "data": [[float]]}, ...],
     "learner": [{"name": str, "data": [[float]]}] | None, "learner_note": str,
     "x_labels": [str], "y_labels": [str], "x_title": str, "y_title": str,
     "vmin": float, "vmax": float, "select_label": str, "caption": str}

A learner matrix is shown for the item of the same name; one of another shape is left out.
"""

from __future__ import annotations

import json
import math
from html import escape

MAX_ITEMS = 64


def _matrix(data, what: str) -> list[list[float | None]]:
    if hasattr(data, "detach"):
        data = data.detach().cpu()
    if hasattr(data, "tolist"):
        data = data.tolist()
    if not isinstance(data, (list, tuple)) or not data or not all(isinstance(r, (list, tuple)) for r in data):
        raise ValueError(f"{what}: 'data' must be a non-empty 2-D list (rows of numbers)")
    cols = len(data[0])
    if cols == 0 or any(len(r) != cols for r in data):
        raise ValueError(f"{what}: rows must all have the same, non-zero length")
    out = []
    for r in data:
        row = []
        for v in r:
            if v is None:
                row.append(None)
                continue
            v = float(v)
            row.append(round(v, 5) if math.isfinite(v) else None)
        out.append(row)
    return out


def _items(items, what: str) -> list[dict]:
    if not isinstance(items, (list, tuple)) or not items or len(items) > MAX_ITEMS:
        raise ValueError(f"a viewer's '{what}' must be a list of 1 to {MAX_ITEMS} {{'name', 'data'}} dicts")
    return [{"name": str(it["name"]), "data": _matrix(it["data"], f"{what} {it['name']!r}")} for it in items]


def viewer_payload(fig: dict) -> dict:
    items = _items(fig.get("items"), "items")
    shapes = {it["name"]: (len(it["data"]), len(it["data"][0])) for it in items}
    learner = []
    for it in fig.get("learner") or []:
        try:
            (entry,) = _items([it], "learner")
        except (ValueError, KeyError, TypeError):
            continue  # the learner's file is only shown, never trusted: a bad entry is left out
        if shapes.get(entry["name"]) == (len(entry["data"]), len(entry["data"][0])):
            learner.append(entry)
    finite = [v for it in items for r in it["data"] for v in r if v is not None]
    vmin = fig.get("vmin") if fig.get("vmin") is not None else (min(finite) if finite else 0.0)
    vmax = fig.get("vmax") if fig.get("vmax") is not None else (max(finite) if finite else 1.0)
    return {
        "title": str(fig.get("title", "")),
        "items": items, "learner": learner, "learner_note": str(fig.get("learner_note", "")),
        "x_labels": [str(x) for x in fig.get("x_labels") or []], "y_labels": [str(y) for y in fig.get("y_labels") or []],
        "x_title": str(fig.get("x_title", "")), "y_title": str(fig.get("y_title", "")),
        "vmin": float(vmin), "vmax": float(vmax), "select_label": str(fig.get("select_label", "show")),
    }


def _script_json(data: dict) -> str:
    """JSON that cannot end the <script> element it sits in."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def viewer_html(fig: dict) -> str:
    from mi_exercise.site_builder.pictures import heatmap_svg

    payload = viewer_payload(fig)
    first = payload["items"][0]
    static = heatmap_svg({"data": [[v if v is not None else math.nan for v in r] for r in first["data"]],
                          "title": f"{payload['title']}: {first['name']}", "x_labels": payload["x_labels"],
                          "y_labels": payload["y_labels"], "x_title": payload["x_title"], "y_title": payload["y_title"],
                          "vmin": payload["vmin"], "vmax": payload["vmax"]})
    return (f'<div class="mi-viewer" data-mi-viewer data-learner="{"yes" if payload["learner"] else "no"}">'
            f'<script type="application/json" class="mi-viewer-data">{_script_json(payload)}</script>'
            f'<div class="mi-viewer-static" aria-label="{escape(first["name"])}">{static}</div></div>')
