"""Pictures on exercise pages: SVG drawn here from data, no plotting library, no other host.

An exercise may ship an optional hook, `exercises/<chapter>/<slug>/pictures.py`, defining

    def pictures(context: dict) -> list[dict]: ...

`context` holds "exercise" (the catalog entry), "workspace" (the learner's workspace root, a
Path, or None when the site is built without one), "learner_file" (Path or None), "status"
(the exercise's status in the workspace's progress: "passed", "in progress" or "not started")
and "learner_results" (what the grader recorded from the learner's last check, see
learner_results.py: {"checked_at", "figures": {name: array}}, or {}).
A hook must not import or run the learner's file: learner code runs only in the grading worker.
Each returned dict is one figure:

    {"kind": "heatmap", "title": str, "data": [[float]] (or a 2-D tensor/array),
     "x_labels": [str] | None, "y_labels": [str] | None, "x_title": str, "y_title": str,
     "vmin": float | None, "vmax": float | None, "caption": str}
    {"kind": "lines", "title": str, "series": {name: [y, ...] or ([x, ...], [y, ...])},
     "x_title": str, "y_title": str, "log_y": bool, "caption": str}
    {"kind": "scatter", ...}  (the same keys as "lines"; each point a dot, nothing joined)

    {"kind": "viewer", ...}: an interactive heatmap with a selector, hover readout and the
     learner's own matrices beside the reference's (fields in viewer.py)

(an attention pattern is a heatmap with query positions as rows and key positions as columns;
a loss curve is a lines figure). Mistakes in the hook are reported with the exercise and line.
"""

from __future__ import annotations

import importlib.util
import math
import traceback
from html import escape
from pathlib import Path

PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"]


class PictureError(Exception):
    def __init__(self, path: Path, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}" + (f", line {line}" if line else "") + f": {message}")


def _tolist(data):
    if hasattr(data, "detach"):
        data = data.detach().cpu()
    if hasattr(data, "tolist"):
        return data.tolist()
    return data


def _num(v) -> float:
    v = float(v)
    return v


MIN_LABELLED_CELL = 28  # px: below this a value no longer fits in its cell (hover still shows it)


def cell_text(v: float) -> str:
    """A value in at most 5 characters: 0.53, -0.06, 12.3, 140, NaN."""
    if not math.isfinite(v):
        return "NaN" if v != v else ("inf" if v > 0 else "-inf")
    a = abs(v)
    if a >= 1000:
        return f"{v:.0e}".replace("e+0", "e").replace("e+", "e")
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def heatmap_svg(fig: dict) -> str:
    data = _tolist(fig["data"])
    if not isinstance(data, (list, tuple)) or not data or not all(isinstance(r, (list, tuple)) for r in data):
        raise ValueError("a heatmap's 'data' must be a non-empty 2-D list (rows of numbers)")
    rows, cols = len(data), len(data[0])
    if cols == 0 or any(len(r) != cols for r in data):
        raise ValueError("a heatmap's rows must all have the same, non-zero length")
    values = [[_num(v) for v in r] for r in data]
    finite = [v for r in values for v in r if math.isfinite(v)]
    vmin = fig.get("vmin", min(finite) if finite else 0.0)
    vmax = fig.get("vmax", max(finite) if finite else 1.0)
    if vmax is None or vmin is None:
        vmin, vmax = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = (vmax - vmin) or 1.0
    x_labels = [str(x) for x in (fig.get("x_labels") or [])]
    y_labels = [str(y) for y in (fig.get("y_labels") or [])]
    cell = max(8, min(36, 480 // max(rows, cols)))
    left = 12 + (7 * max((len(y) for y in y_labels), default=0)) + (18 if fig.get("y_title") else 0)
    top = 8
    bottom = 12 + (7 * max((len(x) for x in x_labels), default=0)) + (18 if fig.get("x_title") else 0)
    width, height = left + cols * cell + 70, top + rows * cell + bottom
    parts = [f'<svg class="figure-svg" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(fig.get("title", "heatmap"))}</title>']
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            t = 0.0 if not math.isfinite(v) else min(1.0, max(0.0, (v - vmin) / span))
            colour = _ramp(t)
            parts.append(f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell}" height="{cell}" '
                         f'fill="{colour}"><title>[{i}, {j}] = {v:.4g}</title></rect>')
            if cell >= MIN_LABELLED_CELL:  # the value written in the cell, not only on hover
                ink = "#ffffff" if t > 0.55 else "#111827"
                parts.append(f'<text class="cell-value" x="{left + j * cell + cell / 2}" y="{top + i * cell + cell / 2 + 3}" '
                             f'text-anchor="middle" font-size="{9 if cell < 34 else 10}" fill="{ink}">{cell_text(v)}</text>')
    for i, label in enumerate(y_labels[:rows]):
        parts.append(f'<text class="tick" x="{left - 4}" y="{top + i * cell + cell / 2 + 4}" '
                     f'text-anchor="end">{escape(label)}</text>')
    for j, label in enumerate(x_labels[:cols]):
        x, y = left + j * cell + cell / 2 + 4, top + rows * cell + 6
        parts.append(f'<text class="tick" x="{x}" y="{y}" text-anchor="end" '
                     f'transform="rotate(-90 {x} {y})">{escape(label)}</text>')
    if fig.get("x_title"):
        parts.append(f'<text class="axis" x="{left + cols * cell / 2}" y="{height - 4}" text-anchor="middle">'
                     f'{escape(fig["x_title"])}</text>')
    if fig.get("y_title"):
        yy = top + rows * cell / 2
        parts.append(f'<text class="axis" x="12" y="{yy}" text-anchor="middle" transform="rotate(-90 12 {yy})">'
                     f'{escape(fig["y_title"])}</text>')
    # colour bar
    bx = left + cols * cell + 16
    steps = 24
    bh = rows * cell
    for k in range(steps):
        parts.append(f'<rect x="{bx}" y="{top + bh * k / steps:.2f}" width="12" height="{bh / steps + 0.5:.2f}" '
                     f'fill="{_ramp(1 - k / (steps - 1))}"/>')
    parts.append(f'<text class="tick" x="{bx + 16}" y="{top + 10}">{vmax:.3g}</text>')
    parts.append(f'<text class="tick" x="{bx + 16}" y="{top + bh}">{vmin:.3g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _ramp(t: float) -> str:
    """A perceptually ordered blue ramp: pale for 0, deep for 1 (readable in light and dark)."""
    stops = [(0.0, (247, 251, 255)), (0.25, (198, 219, 239)), (0.5, (107, 174, 214)), (0.75, (33, 113, 181)),
             (1.0, (8, 48, 107))]
    for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
        if t <= t1:
            u = (t - t0) / (t1 - t0)
            return "#%02x%02x%02x" % tuple(round(a + (b - a) * u) for a, b in zip(c0, c1))
    return "#08306b"


def lines_svg(fig: dict) -> str:
    series = fig.get("series")
    if not isinstance(series, dict) or not series:
        raise ValueError("a lines figure needs 'series': a dict of name -> [y, ...] or ([x, ...], [y, ...])")
    curves = []
    for name, s in series.items():
        s = _tolist(s)
        if isinstance(s, tuple) and len(s) == 2:
            xs, ys = [_num(v) for v in _tolist(s[0])], [_num(v) for v in _tolist(s[1])]
        else:
            ys = [_num(v) for v in s]
            xs = [float(i) for i in range(len(ys))]
        if len(xs) != len(ys) or not ys:
            raise ValueError(f"series '{name}': x and y must be non-empty and of the same length")
        curves.append((str(name), xs, ys))
    log_y = bool(fig.get("log_y"))

    def ty(v: float) -> float:
        return math.log10(v) if log_y and v > 0 else v

    all_x = [x for _, xs, _ in curves for x in xs]
    all_y = [ty(y) for _, _, ys in curves for y in ys if math.isfinite(y) and (not log_y or y > 0)]
    x0, x1 = min(all_x), max(all_x)
    y0, y1 = (min(all_y), max(all_y)) if all_y else (0.0, 1.0)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    w, h, left, top, right, bottom = 560, 300, 56, 12, 16, 44
    pw, ph = w - left - right, h - top - bottom

    def px(x): return left + (x - x0) / (x1 - x0) * pw
    def py(y): return top + ph - (ty(y) - y0) / (y1 - y0) * ph

    parts = [f'<svg class="figure-svg" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(fig.get("title", "chart"))}</title>',
             f'<rect class="plot-bg" x="{left}" y="{top}" width="{pw}" height="{ph}"/>']
    for k in range(5):
        yv = y0 + (y1 - y0) * k / 4
        yy = top + ph - ph * k / 4
        label = f"{10 ** yv:.3g}" if log_y else f"{yv:.3g}"
        parts.append(f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{yy:.1f}" y2="{yy:.1f}"/>')
        parts.append(f'<text class="tick" x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{label}</text>')
        xv = x0 + (x1 - x0) * k / 4
        xx = left + pw * k / 4
        parts.append(f'<text class="tick" x="{xx:.1f}" y="{top + ph + 16}" text-anchor="middle">{xv:.4g}</text>')
    for n, (name, xs, ys) in enumerate(curves):
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys) if math.isfinite(y) and (not log_y or y > 0))
        colour = PALETTE[n % len(PALETTE)]
        if fig.get("kind") == "scatter":
            dots = "".join(f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3"/>' for p in pts.split())
            parts.append(f'<g fill="{colour}" fill-opacity="0.75"><title>{escape(name)}</title>{dots}</g>')
        else:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"><title>{escape(name)}</title></polyline>')
        parts.append(f'<rect x="{left + 10}" y="{top + 8 + 16 * n}" width="10" height="10" fill="{colour}"/>'
                     f'<text class="tick" x="{left + 26}" y="{top + 17 + 16 * n}">{escape(name)}</text>')
    if fig.get("x_title"):
        parts.append(f'<text class="axis" x="{left + pw / 2}" y="{h - 6}" text-anchor="middle">{escape(fig["x_title"])}</text>')
    if fig.get("y_title"):
        parts.append(f'<text class="axis" x="14" y="{top + ph / 2}" text-anchor="middle" '
                     f'transform="rotate(-90 14 {top + ph / 2})">{escape(fig["y_title"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def viewer_figure(fig: dict) -> str:
    from mi_exercise.site_builder.viewer import viewer_html

    return viewer_html(fig)


RENDERERS = {"heatmap": heatmap_svg, "lines": lines_svg, "scatter": lines_svg, "viewer": viewer_figure}


def figure_svg(fig: dict) -> str:
    if not isinstance(fig, dict):
        raise ValueError(f"each figure must be a dict, got {type(fig).__name__}")
    kind = fig.get("kind")
    if kind not in RENDERERS:
        raise ValueError(f"unknown figure kind {kind!r}; use one of {sorted(RENDERERS)}")
    return RENDERERS[kind](fig)


def hook_path(exercise) -> Path:
    return Path(exercise.exercise_dir) / "pictures.py"


def exercise_pictures(exercise, context: dict) -> list[dict]:
    """Run the exercise's pictures.py hook (if any); returns [{"title", "caption", "svg"}]."""
    path = hook_path(exercise)
    if not path.exists():
        return []
    try:
        spec = importlib.util.spec_from_file_location(f"mi_exercise_pictures_{exercise.module_name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        hook = getattr(module, "pictures", None)
        if not callable(hook):
            raise PictureError(path, None, "defines no function `pictures(context)`")
        figures = hook(dict(context, exercise=exercise))
        if not isinstance(figures, (list, tuple)):
            raise PictureError(path, None, f"pictures() must return a list of figure dicts, got {type(figures).__name__}")
    except PictureError:
        raise
    except SyntaxError as exc:
        raise PictureError(path, exc.lineno, f"syntax error: {exc.msg}") from None
    except Exception as exc:
        raise PictureError(path, _hook_line(exc, path), f"{exc.__class__.__name__}: {exc}") from None
    out = []
    for n, fig in enumerate(figures, 1):
        try:
            svg = figure_svg(fig)
        except (ValueError, TypeError, KeyError) as exc:
            raise PictureError(path, None, f"figure {n}: {exc}") from None
        out.append({"title": str(fig.get("title", "")), "caption": str(fig.get("caption", "")), "svg": svg})
    return out


def _hook_line(exc: BaseException, path: Path) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename) == path:
            return frame.lineno
    return None
