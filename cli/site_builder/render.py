"""Markdown to HTML: markdown-it-py (CommonMark + tables), Pygments for code, MathML for maths.

Maths (`$...$` inline, `$$...$$` display) is cut out of the Markdown before parsing (never
inside code spans or fenced blocks), converted to MathML with latex2mathml on this machine, and
put back afterwards, so the page needs no script and no other host to show it.
"""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

LIGHT_STYLE, DARK_STYLE = "friendly", "monokai"


class RenderError(Exception):
    """A problem in the Markdown at a given line (1-based) of the rendered page.md."""

    def __init__(self, line: int | None, message: str):
        self.line, self.message = line, message
        super().__init__(f"line {line}: {message}" if line else message)


def highlight_code(code: str, lang: str = "python") -> str:
    try:
        lexer = get_lexer_by_name(lang or "text")
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    return highlight(code, lexer, HtmlFormatter(cssclass="highlight"))


def pygments_css() -> str:
    light = HtmlFormatter(style=LIGHT_STYLE).get_style_defs(".highlight")
    dark = HtmlFormatter(style=DARK_STYLE).get_style_defs(".highlight")
    return (f"/* Pygments: {LIGHT_STYLE} (light), {DARK_STYLE} (dark) */\n{light}\n"
            f"@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n")


def _md() -> MarkdownIt:
    def fence(code: str, lang: str, _attrs: str) -> str:
        return highlight_code(code, lang.strip().split(" ")[0] if lang else "text")

    return MarkdownIt("commonmark", {"highlight": fence, "html": False, "typographer": False}).enable("table")


_MTEXT = re.compile(r"(<mtext[^>]*>)(.*?)(</mtext>)", re.S)
_TEXT_ESCAPE = re.compile(r"\\([_%#])")


def latex_to_mathml(tex: str, display: bool) -> str:
    import latex2mathml.converter

    mathml = latex2mathml.converter.convert(tex, display="block" if display else "inline")
    # latex2mathml copies \text{n\_heads} verbatim: TeX's escaped characters would show their backslash
    return _MTEXT.sub(lambda m: m.group(1) + _TEXT_ESCAPE.sub(r"\1", m.group(2)) + m.group(3), mathml)


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TOKEN = re.compile(r"(`+)|(\$\$)|(\$)")


def _protect_math(source: str) -> tuple[str, list[tuple[str, bool, int]]]:
    """Replace maths with placeholders outside code; returns the new text and the maths found."""
    found: list[tuple[str, bool, int]] = []
    out_lines: list[str] = []
    lines = source.split("\n")
    fence: str | None = None
    # Work on runs of non-fenced lines so display maths may span lines.
    chunk: list[tuple[int, str]] = []

    def flush() -> None:
        if not chunk:
            return
        text = "\n".join(l for _, l in chunk)
        starts = [n for n, _ in chunk]
        offsets, pos = [], 0
        for _, l in chunk:
            offsets.append(pos)
            pos += len(l) + 1

        def line_of(index: int) -> int:
            k = 0
            while k + 1 < len(offsets) and offsets[k + 1] <= index:
                k += 1
            return starts[k]

        result, i = [], 0
        while i < len(text):
            m = _TOKEN.search(text, i)
            if not m:
                result.append(text[i:])
                break
            result.append(text[i:m.start()])
            if m.start() > 0 and text[m.start() - 1] == "\\":  # \$ is a literal dollar
                result.append(m.group(0))
                i = m.end()
                continue
            if m.group(1):  # a code span: copy it through untouched
                ticks = m.group(1)
                end = text.find(ticks, m.end())
                if end < 0:
                    result.append(ticks)
                    i = m.end()
                    continue
                result.append(text[m.start():end + len(ticks)])
                i = end + len(ticks)
                continue
            display = bool(m.group(2))
            delim = "$$" if display else "$"
            end = text.find(delim, m.end())
            while end >= 0 and text[end - 1] == "\\":
                end = text.find(delim, end + 1)
            line = line_of(m.start())
            if end < 0 or (not display and "\n\n" in text[m.end():end]):
                raise RenderError(line, f"unclosed maths: '{delim}' has no closing '{delim}' "
                                        "(write \\$ for a literal dollar sign)")
            tex = text[m.end():end].strip()
            if not tex:
                raise RenderError(line, f"empty maths '{delim}{delim}'")
            found.append((tex, display, line))
            token = f"MIMATH{len(found) - 1}X"
            result.append(f"\n\n{token}\n\n" if display else token)
            i = end + len(delim)
        out_lines.append("".join(result))
        chunk.clear()

    for n, line in enumerate(lines, 1):
        m = _FENCE.match(line)
        if fence is None:
            if m:
                flush()
                fence = m.group(1)
                out_lines.append(line)
            else:
                chunk.append((n, line))
        else:
            out_lines.append(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip()[len(m.group(1)):].strip():
                fence = None
    flush()
    return "\n".join(out_lines), found


def markdown_to_html(source: str) -> str:
    """Render page Markdown (already through Jinja) to an HTML fragment. Raises RenderError."""
    text, maths = _protect_math(source)
    body = _md().render(text)
    for k, (tex, display, line) in enumerate(maths):
        try:
            mathml = latex_to_mathml(tex, display)
        except Exception as exc:  # latex2mathml raises assorted errors on bad TeX
            raise RenderError(line, f"cannot render the maths '{tex[:60]}': {exc.__class__.__name__}: {exc}") from None
        token = f"MIMATH{k}X"
        if display:
            body = body.replace(f"<p>{token}</p>", f'<div class="math-display">{mathml}</div>', 1)
        body = body.replace(token, f'<span class="math">{mathml}</span>', 1)
    return body


def inline_markdown(text: str) -> str:
    """A one-line Markdown snippet (a hint, a summary) as inline HTML, maths included."""
    html_text = markdown_to_html(text).strip()
    if html_text.startswith("<p>") and html_text.endswith("</p>") and html_text.count("<p>") == 1:
        html_text = html_text[3:-4]
    return html_text


def escape(text: str) -> str:
    return html.escape(text, quote=True)
