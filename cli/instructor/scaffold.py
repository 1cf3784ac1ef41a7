"""`new`: scaffold an exercise that `validate` accepts at once.

The scaffold is a small, complete example (one function, a grader with two tests, a reference
solution and three mutants in override form, since `validate` asks for at least three) that
the instructor then rewrites into the real exercise; docs/authoring.md walks through that.

`new SLUG --like OTHER` copies OTHER's shape: its needs, device, limits, default points and
prerequisites, and, when OTHER's grader works on the shipped model (`shipped_model`, or
needs transformer_lens), a model example (the learner's function gets the model loaded in the
worker, the reference a trusted copy) instead of the tensor one.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mi_exercise import paths
from mi_exercise.catalog.loader import SLUG_RE, CatalogError, load_catalog

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SHAPES = {  # template per file, for each shape of exercise
    "tensor": {"stub": "stub.py.j2", "page": "page.md.j2", "grader": "grader.py.j2", "solution": "solution.py.j2",
               "mutants": {"wrong_axis": "mutant_wrong_axis.py.j2", "mean_not_sum": "mutant_mean.py.j2",
                           "float_cast": "mutant_float_cast.py.j2"}},
    "model": {"stub": "model_stub.py.j2", "page": "model_page.md.j2", "grader": "model_grader.py.j2",
              "solution": "model_solution.py.j2",
              "mutants": {"no_shift": "model_mutant_no_shift.py.j2", "probs_not_log_probs": "model_mutant_probs.py.j2",
                          "normalised_over_positions": "model_mutant_wrong_axis.py.j2"}},
}
DEFAULT_LIMITS = {"test_seconds": 10, "check_seconds": 60, "memory_mb": 4096}


class ScaffoldError(Exception):
    """Bad slug or chapter, or the exercise exists already: exit status 2."""


def template_folder(root: Path) -> Path:
    """The content root's own templates/new/ if it has one, else the ones shipped with mi-exercise."""
    for candidate in (paths.templates_dir(root) / "new", paths.PACKAGE_DIR / "_content" / "templates" / "new",
                      paths.PACKAGE_DIR.parent / "templates" / "new"):
        if (candidate / "exercise.toml.j2").is_file():
            return candidate
    raise ScaffoldError("the templates for `new` (templates/new/*.j2) are missing from this installation")


def fixtures_used(exercise) -> list[str]:
    """The fixtures an exercise's grader tests ask for (read with ast), in first-use order."""
    import ast

    seen: dict[str, None] = {}
    for path in exercise.grader_files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                for arg in node.args.args:
                    seen.setdefault(arg.arg, None)
    return list(seen)


def shape_of(exercise) -> str:
    """"model" when the grader works on the shipped model, else "tensor"."""
    uses_model = "shipped_model" in fixtures_used(exercise) or "transformer_lens" in exercise.needs
    return "model" if uses_model else "tensor"


def _toml_number(value) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def like_context(like) -> dict:
    """What `--like` copies from an existing exercise."""
    from dataclasses import asdict

    points = like.points.get("default", 1.0)
    return {"shape": shape_of(like), "needs": "[" + ", ".join(f'"{n}"' for n in like.needs) + "]" if like.needs else "",
            "device": like.device, "limits": {k: _toml_number(v) for k, v in asdict(like.limits).items() if v is not None},
            "points_default": _toml_number(points),
            "prerequisites": "[" + ", ".join(f'"{p}"' for p in like.prerequisites) + "]"}


def new_exercise(slug: str, chapter: str | None = None, *, title: str | None = None, root: Path | None = None,
                 like: str | None = None) -> list[Path]:
    """Write the scaffold's files; returns them. Never overwrites anything."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    root = Path(root or paths.content_root())
    if not SLUG_RE.match(slug):
        raise ScaffoldError(f"'{slug}' is not a valid exercise name: use lower-case words joined by '-', "
                            "starting with a letter (e.g. 'row-sums')")
    chapters_file = paths.exercises_dir(root) / "chapters.toml"
    try:
        with chapters_file.open("rb") as fh:
            chapter_ids = [c.get("id") for c in tomllib.load(fh).get("chapter", [])]
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScaffoldError(f"cannot read the chapter list {chapters_file}: {exc}") from None
    try:
        catalog = load_catalog(root)
    except CatalogError as exc:
        raise ScaffoldError(f"fix the catalog first: {exc}") from None
    shape = {"shape": "tensor", "needs": "", "device": "any", "limits": dict(DEFAULT_LIMITS), "points_default": "1",
             "prerequisites": "[]"}
    if like is not None:
        if like not in catalog:
            close = catalog.suggest(like)
            raise ScaffoldError(f"--like: unknown exercise '{like}' in {paths.describe_content_root(root)}"
                                + (f" (did you mean {', '.join(close)}?)" if close else ""))
        shape = like_context(catalog.get(like))
        chapter = chapter or catalog.get(like).chapter
    if chapter is None:
        raise ScaffoldError("name the chapter: --chapter ID (or --like SLUG to take that exercise's)")
    if chapter not in chapter_ids:
        raise ScaffoldError(f"unknown chapter '{chapter}' (known: {', '.join(chapter_ids)}); "
                            f"chapters are listed in {chapters_file}")
    if slug in catalog:
        raise ScaffoldError(f"exercise '{slug}' exists already (in {catalog.get(slug).exercise_dir}); "
                            "pick another name, nothing was written")
    ex_dir = paths.exercises_dir(root) / chapter / slug
    gr_dir = paths.graders_dir(root) / chapter / slug
    for folder in (ex_dir, gr_dir):
        if folder.exists():
            raise ScaffoldError(f"{folder} exists already; nothing was written")
    module = slug.replace("-", "_")
    func = module if module.isidentifier() else "solve"
    order = max((e.order for e in catalog.in_chapter(chapter)), default=0) + 1
    context = {"slug": slug, "chapter": chapter, "title": title or slug.replace("-", " ").capitalize(),
               "order": order, "module": module, "func": func, **shape}
    templates = SHAPES[shape["shape"]]
    env = Environment(loader=FileSystemLoader(str(template_folder(root))), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    plan = {
        ex_dir / "exercise.toml": "exercise.toml.j2",
        ex_dir / "stub.py": templates["stub"],
        ex_dir / "page.md": templates["page"],
        gr_dir / f"test_{module}.py": templates["grader"],
        gr_dir / "solution.py": templates["solution"],
        **{gr_dir / "mutants" / f"{name}.py": tpl for name, tpl in templates["mutants"].items()},
    }
    written = []
    for target, template in plan.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(env.get_template(template).render(**context))
        written.append(target)
    return written
