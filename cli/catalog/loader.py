"""Load and validate the catalog: exercises/chapters.toml and one exercise.toml per exercise.

Every problem is a CatalogError naming the file and the field, never a KeyError from deep inside.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from mi_exercise import paths
from mi_exercise.catalog.model import DEVICES, VISIBILITIES, Catalog, Chapter, Exercise, Limits

SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
EXERCISE_KEYS = {
    "slug", "title", "chapter", "order", "summary", "prerequisites", "hints", "limits",
    "points", "device", "needs", "visibility", "uses", "own_parts",
}
LIMIT_KEYS = {"test_seconds", "check_seconds", "memory_mb", "output_kb", "threads"}
KNOWN_NEEDS = {"transformer_lens"}


class CatalogError(Exception):
    def __init__(self, path: Path, field: str | None, message: str):
        self.path, self.field, self.message = path, field, message
        where = f"{path}" + (f": field '{field}'" if field else "")
        super().__init__(f"{where}: {message}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise CatalogError(path, None, "file is missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(path, None, f"not valid TOML ({exc})") from None


def _expect(path: Path, data: dict, key: str, kind: type | tuple, required: bool = True):
    if key not in data:
        if required:
            raise CatalogError(path, key, "is required but missing")
        return None
    value = data[key]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise CatalogError(path, key, f"must be a number, not {value!r}")
    if not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise CatalogError(path, key, f"must be a {name}, not {type(value).__name__} {value!r}")
    return value


def _load_chapters(path: Path) -> list[Chapter]:
    data = _read_toml(path)
    rows = data.get("chapter")
    if not isinstance(rows, list) or not rows:
        raise CatalogError(path, "chapter", "needs at least one [[chapter]] table")
    chapters, seen = [], set()
    for row in rows:
        cid = _expect(path, row, "id", str)
        if cid in seen:
            raise CatalogError(path, "id", f"chapter '{cid}' is listed twice")
        seen.add(cid)
        chapters.append(Chapter(
            id=cid,
            number=_expect(path, row, "number", int),
            title=_expect(path, row, "title", str),
            summary=_expect(path, row, "summary", str, required=False) or "",
        ))
    return sorted(chapters, key=lambda c: c.number)


def _load_exercise(path: Path, chapter_ids: set[str], root: Path) -> Exercise:
    data = _read_toml(path)
    unknown = set(data) - EXERCISE_KEYS
    if unknown:
        raise CatalogError(path, sorted(unknown)[0], f"unknown field (known: {', '.join(sorted(EXERCISE_KEYS))})")
    slug = _expect(path, data, "slug", str)
    if not SLUG_RE.match(slug):
        raise CatalogError(path, "slug", f"'{slug}' must be lower-case words joined by '-'")
    folder = path.parent
    if folder.name != slug:
        raise CatalogError(path, "slug", f"'{slug}' does not match its folder name '{folder.name}'")
    chapter = _expect(path, data, "chapter", str)
    if chapter not in chapter_ids:
        raise CatalogError(path, "chapter", f"unknown chapter '{chapter}' (known: {', '.join(sorted(chapter_ids))})")
    if folder.parent.name != chapter:
        raise CatalogError(path, "chapter", f"'{chapter}' but the exercise sits in folder '{folder.parent.name}'")
    prereqs = _expect(path, data, "prerequisites", list, required=False) or []
    if not all(isinstance(p, str) for p in prereqs):
        raise CatalogError(path, "prerequisites", "must be a list of exercise slugs")
    hints = _expect(path, data, "hints", list, required=False) or []
    if not all(isinstance(h, str) and h.strip() for h in hints):
        raise CatalogError(path, "hints", "must be a list of non-empty strings, vague first")
    limits_raw = _expect(path, data, "limits", dict, required=False) or {}
    bad = set(limits_raw) - LIMIT_KEYS
    if bad:
        raise CatalogError(path, f"limits.{sorted(bad)[0]}", f"unknown limit (known: {', '.join(sorted(LIMIT_KEYS))})")
    for key, value in limits_raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise CatalogError(path, f"limits.{key}", f"must be a positive number, not {value!r}")
    if "threads" in limits_raw and not isinstance(limits_raw["threads"], int):
        raise CatalogError(path, "limits.threads", f"must be a whole number of threads, not {limits_raw['threads']!r}")
    points = _expect(path, data, "points", dict, required=False) or {}
    for key, value in points.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise CatalogError(path, f"points.{key}", f"must be a number >= 0, not {value!r}")
    visibility = _expect(path, data, "visibility", dict, required=False) or {}
    for key, value in visibility.items():
        if value not in VISIBILITIES:
            raise CatalogError(path, f"visibility.{key}", f"must be one of {', '.join(VISIBILITIES)}, not {value!r}")
    device = _expect(path, data, "device", str, required=False) or "any"
    if device not in DEVICES:
        raise CatalogError(path, "device", f"'{device}' is not one of {', '.join(DEVICES)}")
    needs = _expect(path, data, "needs", list, required=False) or []
    if not set(needs) <= KNOWN_NEEDS:
        raise CatalogError(path, "needs", f"unknown entries {sorted(set(needs) - KNOWN_NEEDS)} (known: {sorted(KNOWN_NEEDS)})")
    uses = _expect(path, data, "uses", list, required=False) or []
    if not all(isinstance(u, str) for u in uses):
        raise CatalogError(path, "uses", "must be a list of exercise slugs")
    own_parts = _expect(path, data, "own_parts", bool, required=False) or False
    return Exercise(
        slug=slug,
        title=_expect(path, data, "title", str),
        chapter=chapter,
        order=_expect(path, data, "order", int),
        summary=_expect(path, data, "summary", str, required=False) or "",
        prerequisites=tuple(prereqs),
        hints=tuple(hints),
        limits=Limits(**{k: (int(v) if k in ("memory_mb", "output_kb", "threads") else float(v)) for k, v in limits_raw.items()}),
        points={k: float(v) for k, v in points.items()},
        device=device,
        needs=tuple(needs),
        exercise_dir=folder,
        grader_dir=paths.graders_dir(root) / chapter / slug,
        visibility=dict(visibility),
        uses=tuple((u, Path()) for u in uses),  # slugs for now; _resolve_uses fills in the rest
        own_parts=own_parts,
    )


def _resolve_uses(exercises: list[Exercise]) -> list[Exercise]:
    """Each `uses` slug becomes (module name, solution path), with the parts those exercises use
    themselves first: the modules are registered in that order."""
    by_slug = {ex.slug: ex for ex in exercises}

    def closure(ex: Exercise, trail: tuple[str, ...]) -> list[str]:
        out: list[str] = []
        for slug, _ in ex.uses:
            if slug not in by_slug:
                raise CatalogError(ex.exercise_dir / "exercise.toml", "uses", f"unknown exercise '{slug}'")
            if slug in trail:
                raise CatalogError(ex.exercise_dir / "exercise.toml", "uses", "cycle: " + " -> ".join(trail + (slug,)))
            for s in closure(by_slug[slug], trail + (slug,)) + [slug]:
                if s not in out:
                    out.append(s)
        return out

    return [dataclasses.replace(ex, uses=tuple((by_slug[s].module_name, by_slug[s].solution_path)
                                               for s in closure(ex, (ex.slug,))))
            if ex.uses else ex for ex in exercises]


def _check_prerequisites(exercises: list[Exercise]) -> None:
    by_slug = {ex.slug: ex for ex in exercises}
    for ex in exercises:
        for p in ex.prerequisites:
            if p not in by_slug:
                raise CatalogError(ex.exercise_dir / "exercise.toml", "prerequisites", f"unknown exercise '{p}'")
    # Depth-first search for a cycle; report it as a path a -> b -> a.
    state: dict[str, int] = {}

    def visit(slug: str, trail: list[str]) -> None:
        state[slug] = 1
        for p in by_slug[slug].prerequisites:
            if state.get(p) == 1:
                cycle = trail[trail.index(p):] + [p] if p in trail else [slug, p]
                raise CatalogError(by_slug[slug].exercise_dir / "exercise.toml", "prerequisites",
                                   "cycle: " + " -> ".join(cycle))
            if p not in state:
                visit(p, trail + [p])
        state[slug] = 2

    for ex in exercises:
        if ex.slug not in state:
            visit(ex.slug, [ex.slug])


def load_catalog(root: Path | None = None) -> Catalog:
    root = root or paths.content_root()
    ex_dir = paths.exercises_dir(root)
    chapters = _load_chapters(ex_dir / "chapters.toml")
    chapter_ids = {c.id for c in chapters}
    exercises: list[Exercise] = []
    seen: dict[str, Path] = {}
    for toml_path in sorted(ex_dir.glob("*/*/exercise.toml")):
        ex = _load_exercise(toml_path, chapter_ids, root)
        if ex.slug in seen:
            raise CatalogError(toml_path, "slug", f"duplicate slug '{ex.slug}' (also in {seen[ex.slug]})")
        seen[ex.slug] = toml_path
        exercises.append(ex)
    _check_prerequisites(exercises)
    exercises = _resolve_uses(exercises)
    number = {c.id: c.number for c in chapters}
    exercises.sort(key=lambda e: (number[e.chapter], e.order, e.slug))
    return Catalog(root=root, chapters=tuple(chapters), exercises=tuple(exercises))
