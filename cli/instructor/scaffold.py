"""`new`: scaffold an exercise that `validate` accepts at once.

The scaffold is a small, complete example (one function, a grader with two tests, a reference
solution and three mutants, since `validate` asks for at least three) that the instructor then
rewrites into the real exercise; docs/authoring.md walks through that.
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

MUTANTS = {"wrong_axis": "mutant_wrong_axis.py.j2", "mean_not_sum": "mutant_mean.py.j2",
           "float_cast": "mutant_float_cast.py.j2"}


class ScaffoldError(Exception):
    """Bad slug or chapter, or the exercise exists already: exit status 2."""


def template_folder(root: Path) -> Path:
    """The content root's own templates/new/ if it has one, else the ones shipped with mi-exercise."""
    for candidate in (paths.templates_dir(root) / "new", paths.PACKAGE_DIR / "_content" / "templates" / "new",
                      paths.PACKAGE_DIR.parent / "templates" / "new"):
        if (candidate / "exercise.toml.j2").is_file():
            return candidate
    raise ScaffoldError("the templates for `new` (templates/new/*.j2) are missing from this installation")


def new_exercise(slug: str, chapter: str, *, title: str | None = None, root: Path | None = None) -> list[Path]:
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
    if chapter not in chapter_ids:
        raise ScaffoldError(f"unknown chapter '{chapter}' (known: {', '.join(chapter_ids)}); "
                            f"chapters are listed in {chapters_file}")
    try:
        catalog = load_catalog(root)
    except CatalogError as exc:
        raise ScaffoldError(f"fix the catalog first: {exc}") from None
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
               "order": order, "module": module, "func": func}
    env = Environment(loader=FileSystemLoader(str(template_folder(root))), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    plan = {
        ex_dir / "exercise.toml": "exercise.toml.j2",
        ex_dir / "stub.py": "stub.py.j2",
        ex_dir / "page.md": "page.md.j2",
        gr_dir / f"test_{module}.py": "grader.py.j2",
        gr_dir / "solution.py": "solution.py.j2",
        **{gr_dir / "mutants" / f"{name}.py": tpl for name, tpl in MUTANTS.items()},
    }
    written = []
    for target, template in plan.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(env.get_template(template).render(**context))
        written.append(target)
    return written
