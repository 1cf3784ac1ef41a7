"""An exercise's page.md rendered through Jinja, with errors that name the exercise and line.

This is the Markdown stage shared by `validate`, the static site and notebooks; turning the
Markdown into HTML is the site's job.
"""

from __future__ import annotations

import jinja2

from mi_exercise.catalog.model import Exercise


class PageError(Exception):
    def __init__(self, exercise: Exercise, line: int | None, message: str):
        self.exercise, self.line, self.message = exercise, line, message
        where = f"{exercise.page_path}" + (f", line {line}" if line else "")
        super().__init__(f"{exercise.slug}: {where}: {message}")


def render_page_markdown(exercise: Exercise, **context) -> str:
    try:
        source = exercise.page_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PageError(exercise, None, "page.md is missing") from None
    except UnicodeDecodeError as exc:
        raise PageError(exercise, None, f"page.md is not UTF-8 ({exc})") from None
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    try:
        template = env.from_string(source)
        return template.render(exercise=exercise, **context)
    except jinja2.TemplateSyntaxError as exc:
        raise PageError(exercise, exc.lineno, f"template syntax error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise PageError(exercise, _error_line(exc), f"undefined value: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise PageError(exercise, _error_line(exc), f"template error: {exc}") from None


def _error_line(exc: BaseException) -> int | None:
    import traceback

    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>":
            return frame.lineno
    return None
