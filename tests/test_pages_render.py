"""Every exercise page, rendered by the real site builder: no maths shows a literal backslash
before an underscore (`W\\_Q` in TeX is W_Q with a stray backslash once it is MathML), no hint
loses text to Markdown (`'_' (mul_)` once rendered as `'' (mul)`), and "Functions to write"
lists only what the learner writes."""

from __future__ import annotations

import html
import re

import pytest

from mi_exercise.catalog.loader import load_catalog
from mi_exercise.site_builder.build import build_site
from mi_exercise.site_builder.stubinfo import parse_stub

MATH = re.compile(r"<math\b.*?</math>", re.S)
HINT = re.compile(r'<details class="hint"><summary>[^<]*</summary><p>(.*?)</p></details>', re.S)
WRITE = re.compile(r"<h2>Functions to write</h2>(.*?)</section>", re.S)


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    catalog = load_catalog()
    out = tmp_path_factory.mktemp("site")
    build_site(catalog, out)
    return catalog, {ex.slug: (out / "exercises" / f"{ex.slug}.html").read_text() for ex in catalog.exercises}


def test_no_maths_shows_an_escaped_underscore(site):
    catalog, pages = site
    bad = {slug: [text_of(m)[:80] for m in MATH.findall(page) if "\\_" in text_of(m)] for slug, page in pages.items()}
    assert not {k: v for k, v in bad.items() if v}, bad


def test_every_hint_keeps_its_text(site):
    catalog, pages = site
    for ex in catalog.exercises:
        shown = [text_of(h) for h in HINT.findall(pages[ex.slug])]
        assert shown == list(ex.hints), ex.slug


def test_hint_with_underscores_and_stars_survives():
    from mi_exercise.site_builder.build import escape

    hint = "methods ending in '_' (mul_) change it; x * f and x*y*z do not"
    assert text_of(escape(hint)) == hint


def test_functions_to_write_leave_out_the_given_classes(site):
    catalog, pages = site
    for ex in catalog.exercises:
        section = text_of(WRITE.search(pages[ex.slug]).group(1))
        for item in parse_stub(ex.stub_path).items:
            listed = re.search(rf"\b(class|def) {re.escape(item.name)}\b", section) is not None
            assert listed == item.to_write, (ex.slug, item.name, item.to_write)


def test_heatmap_cells_show_their_values_when_they_fit():
    from mi_exercise.site_builder.pictures import MIN_LABELLED_CELL, heatmap_svg

    small = heatmap_svg({"data": [[0.53, -0.06], [1.8, float("nan")]], "title": "ablation"})
    values = re.findall(r'<text class="cell-value"[^>]*>([^<]*)</text>', small)
    assert values == ["0.53", "-0.06", "1.80", "NaN"]
    big = heatmap_svg({"data": [[0.0] * 60 for _ in range(60)]})  # 8 px cells: hover only
    assert 480 // 60 < MIN_LABELLED_CELL and "cell-value" not in big and "<title>[0, 0] = 0</title>" in big
