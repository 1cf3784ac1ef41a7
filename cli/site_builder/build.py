"""`mi-exercise site build`: the course as static HTML, with the learner's progress.

Layout of the output folder (every link relative, so it works opened from disk):

    index.html                 the track chapter by chapter, progress, what is next
    exercises/<slug>.html      one page per exercise
    assets/style.css, assets/site.js, assets/viewer.js, assets/pygments.css

Nothing on a page refers to another host: no fonts, scripts or styles from a CDN; maths is
MathML made here, code is highlighted here, pictures are inline SVG.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import jinja2

from mi_exercise.catalog.model import Catalog, Exercise
from mi_exercise.pages.markdown_page import PageError, render_page_markdown
from mi_exercise.paths import site_assets_dir, templates_dir
from mi_exercise.site_builder.learner_results import load_results
from mi_exercise.site_builder.pictures import PictureError, exercise_pictures
from mi_exercise.site_builder.render import RenderError, escape, inline_markdown, markdown_to_html, pygments_css
from mi_exercise.site_builder.stubinfo import StubError, highlight_code_item, parse_stub

ASSETS = ("style.css", "site.js", "viewer.js")
STATUS_LABEL = {"passed": "passed", "in progress": "in progress", "not started": "not started"}


class SiteError(Exception):
    """A problem in the course content or templates, worded for the person who can fix it."""


@dataclass
class BuildResult:
    out: Path
    pages: list[Path] = field(default_factory=list)


def _template_env(root: Path | None = None) -> jinja2.Environment:
    folder = templates_dir(root) / "site"
    if not folder.is_dir():
        raise SiteError(f"the site templates are missing: {folder} does not exist")
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined,
                              autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def _render_template(env: jinja2.Environment, name: str, what: str, **context) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise SiteError(f"{what}: template {exc.filename or name}, line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise SiteError(f"{what}: template {exc.name} not found in {env.loader.searchpath[0]}") from None
    except jinja2.TemplateError as exc:
        line = _template_line(exc)
        raise SiteError(f"{what}: template {name}" + (f", line {line}" if line else "") + f": {exc}") from None


def _template_line(exc: BaseException) -> int | None:
    import traceback

    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".html"):
            return frame.lineno
    return None


def progress_view(catalog: Catalog, workspace) -> dict:
    """Status per exercise from the workspace's progress store (all 'not started' without one)."""
    from mi_exercise.progress.report import progress_data

    if workspace is None:
        chapters = []
        for c in catalog.chapters:
            items = [{"slug": e.slug, "title": e.title, "status": "not started", "attempts": 0,
                      "best_tests_passed": 0, "tests_total": None, "hints_used": 0} for e in catalog.in_chapter(c.id)]
            chapters.append({"id": c.id, "number": c.number, "title": c.title, "passed": 0, "total": len(items),
                             "exercises": items})
        first = catalog.exercises[0].slug if catalog.exercises else None
        return {"passed": 0, "total": len(catalog.exercises), "next": first, "chapters": chapters, "history": []}
    return progress_data(catalog, workspace.progress, history=5)


def exercise_body(exercise: Exercise) -> str:
    """page.md through Jinja, then Markdown to HTML; errors name the exercise and the line."""
    try:
        markdown = render_page_markdown(exercise)
    except PageError as exc:
        raise SiteError(str(exc)) from None
    try:
        return markdown_to_html(markdown)
    except RenderError as exc:
        where = f"{exercise.page_path}" + (f", line {exc.line}" if exc.line else "")
        raise SiteError(f"{exercise.slug}: {where}: {exc.message}") from None


def build_site(catalog: Catalog, out: Path, workspace=None, root: Path | None = None, *, public: bool = False,
               hints: bool = True) -> BuildResult:
    """`public`: a site for anyone (a course's web page): no progress, no "your last check",
    no workspace paths. `hints=False` leaves the hints out of the pages."""
    out = Path(out)
    if public:
        workspace = None
    env = _template_env(root)
    progress = progress_view(catalog, workspace)
    status = {e["slug"]: e for c in progress["chapters"] for e in c["exercises"]}
    chapters = []
    for c in catalog.chapters:
        exs = catalog.in_chapter(c.id)
        chapters.append({"id": c.id, "number": c.number, "title": c.title, "summary": c.summary,
                         "exercises": [{"slug": e.slug, "title": e.title, "summary": inline_markdown(e.summary),
                                        "status": status[e.slug]["status"], "info": status[e.slug]} for e in exs],
                         "passed": sum(status[e.slug]["status"] == "passed" for e in exs), "total": len(exs)})
    nxt = catalog.get(progress["next"]) if progress["next"] else None
    common = {"chapters": chapters, "progress": progress, "has_workspace": workspace is not None, "public": public,
              "workspace": str(workspace.root) if workspace is not None else "",
              "built_at": datetime.now().strftime("%Y-%m-%d %H:%M"),
              "next": {"slug": nxt.slug, "title": nxt.title} if nxt else None,
              "first": {"slug": catalog.exercises[0].slug, "title": catalog.exercises[0].title} if catalog.exercises else None}

    pages: dict[Path, str] = {}
    for i, ex in enumerate(catalog.exercises):
        body = exercise_body(ex)
        try:
            stub = parse_stub(ex.stub_path)
        except StubError as exc:
            raise SiteError(f"{ex.slug}: {exc}") from None
        context = {"workspace": workspace.root if workspace is not None else None,
                   "learner_file": workspace.learner_file(catalog, ex) if workspace is not None else None,
                   "status": status[ex.slug]["status"],
                   "learner_results": load_results(workspace.state_dir if workspace is not None else None, ex.slug)}
        try:
            figures = exercise_pictures(ex, context)
        except PictureError as exc:
            raise SiteError(f"{ex.slug}: {exc}") from None
        last = None
        if workspace is not None:
            attempts = workspace.progress.attempts(ex.slug, limit=1)
            last = attempts[0] if attempts else None
        prev_ex = catalog.exercises[i - 1] if i > 0 else None
        next_ex = catalog.exercises[i + 1] if i + 1 < len(catalog.exercises) else None
        chapter = catalog.chapter(ex.chapter)
        html = _render_template(
            env, "exercise.html", f"{ex.slug}: exercise page", root="../", current=ex.slug,
            page_title=ex.title, exercise=ex, chapter=chapter, body=body,
            summary=inline_markdown(ex.summary),
            items=[{"name": w.name, "kind": w.kind, "html": highlight_code_item(w)}
                   for w in (it.written_part() for it in stub.items) if w is not None],
            # hints are plain text (the terminal shows them as written): escaped, never Markdown,
            # so "methods ending in '_' (mul_)" keeps its underscores
            hints=[escape(h) for h in ex.hints] if hints else [], figures=figures, last=last,
            status=status[ex.slug], learner_filename=ex.learner_filename,
            prerequisites=[{"slug": p, "title": catalog.get(p).title if p in catalog else p} for p in ex.prerequisites],
            prev={"slug": prev_ex.slug, "title": prev_ex.title} if prev_ex else None,
            following={"slug": next_ex.slug, "title": next_ex.title} if next_ex else None, **common)
        pages[Path("exercises") / f"{ex.slug}.html"] = html
    pages[Path("index.html")] = _render_template(env, "index.html", "index page", root="", current=None,
                                                 page_title="Mechanistic interpretability exercises", **common)

    assets_src = site_assets_dir(root)
    missing = [a for a in ASSETS if not (assets_src / a).is_file()]
    if missing:
        raise SiteError(f"site assets missing in {assets_src}: {', '.join(missing)}")
    try:
        (out / "exercises").mkdir(parents=True, exist_ok=True)
        (out / "assets").mkdir(parents=True, exist_ok=True)
        for a in ASSETS:
            shutil.copyfile(assets_src / a, out / "assets" / a)
        (out / "assets" / "pygments.css").write_text(pygments_css(), encoding="utf-8")
        for rel, text in pages.items():
            (out / rel).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SiteError(f"cannot write the site to {out}: {exc}") from None
    return BuildResult(out=out, pages=[out / rel for rel in pages])
