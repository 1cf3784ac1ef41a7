"""The learner's recorded results (.mi-exercise/results/<slug>.json) and the matrix viewer on the
circuits pages: plain numbers only on both sides, and in headless Chromium the viewer draws the
reference and the learner's matrices, names the row, column and value under the pointer, and asks
no other host for anything."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli, solution_text

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def test_results_keep_only_small_arrays_of_plain_numbers(tmp_path):
    from mi_exercise.site_builder.learner_results import ResultError, load_results, save_results

    path = save_results(tmp_path, "composition-scores", {"k_composition": [[0.5, float("nan")], [1, 2]],
                                                         "baseline": [0.125]}, "2026-01-01T00:00:00")
    assert path == tmp_path / "results" / "composition-scores.json"
    loaded = load_results(tmp_path, "composition-scores")
    assert loaded["figures"] == {"k_composition": [[0.5, None], [1.0, 2.0]], "baseline": [0.125]}
    assert save_results(tmp_path, "composition-scores", {}) is None
    for bad in ({"x": [["a"]]}, {"x": [[1, 2], [3]]}, {"x": [0.0] * 5000}, {"Bad Name": [1]}, {"x": [True]},
                {f"f{i}": [1] for i in range(17)}):
        with pytest.raises(ResultError):
            save_results(tmp_path, "composition-scores", bad)
    with pytest.raises(ResultError):
        save_results(tmp_path, "../escape", {"x": [1]})


def test_a_tampered_results_file_is_ignored(tmp_path):
    from mi_exercise.site_builder.learner_results import load_results, results_path

    path = results_path(tmp_path, "composition-scores")
    path.parent.mkdir(parents=True)
    for text in ["not json", json.dumps({"slug": "other", "figures": {}}),
                 json.dumps({"slug": "composition-scores", "figures": {"x": [["<script>"]]}}),
                 json.dumps({"slug": "composition-scores", "figures": {"x": [{"a": 1}]}})]:
        path.write_text(text)
        assert load_results(tmp_path, "composition-scores") == {}
    assert load_results(None, "composition-scores") == {}


def test_viewer_html_cannot_end_its_script_and_drops_bad_learner_entries():
    from mi_exercise.site_builder.viewer import viewer_html

    html = viewer_html({"kind": "viewer", "title": "t</script><script>alert(1)</script>",
                        "items": [{"name": "a", "data": [[0.0, 1.0], [0.5, 0.25]]}],
                        "learner": [{"name": "a", "data": [[1, 2], [3, 4]]}, {"name": "a", "data": [[1, 2, 3]]},
                                    {"name": "b", "data": "junk"}],
                        "x_labels": ["k0", "k1"], "y_labels": ["q0", "q1"]})
    assert html.count("<script") == 1 and html.count("</script>") == 1
    payload = json.loads(re.search(r'<script type="application/json" class="mi-viewer-data">(.*?)</script>', html).group(1))
    assert payload["learner"] == [{"name": "a", "data": [[1.0, 2.0], [3.0, 4.0]]}]
    assert payload["title"].startswith("t</script>")  # escaped in the page, intact once parsed


@pytest.fixture(scope="module")
def circuits_site(tmp_path_factory):
    """The site built from a workspace whose last composition-scores check recorded the learner's scores
    (the reference's, with one entry changed so the two panels differ)."""
    from mi_exercise.site_builder.circuits_figures import composition_matrix
    from mi_exercise.site_builder.learner_results import save_results

    base = tmp_path_factory.mktemp("viewer")
    ws = base / "ws"
    assert run_cli("init", str(ws)).returncode == 0
    mine = {f"{k}_composition": composition_matrix(k).tolist() for k in "qkv"}
    mine["k_composition"][0][1] = 0.5
    save_results(ws / ".mi-exercise", "composition-scores", mine, "2026-12-01T21:00:00+00:00")
    out = base / "out"
    result = run_cli("site", "build", "--out", str(out), "--workspace", str(ws))
    assert result.returncode == 0, result.stdout + result.stderr
    return {"out": out, "mine": mine, "reference": {k: composition_matrix(k).tolist() for k in "qkv"}}


def test_circuits_pages_embed_viewers_with_the_learners_results(circuits_site):
    page = (circuits_site["out"] / "exercises" / "composition-scores.html").read_text()
    assert page.count("data-mi-viewer") == 2 and 'data-learner="yes"' in page
    assert 'src="../assets/viewer.js"' in page and (circuits_site["out"] / "assets" / "viewer.js").is_file()
    for slug in ("activation-patching", "reverse-engineer-induction"):
        other = (circuits_site["out"] / "exercises" / f"{slug}.html").read_text()
        assert "data-mi-viewer" in other and 'data-learner="yes"' not in other  # no check recorded there


@pytest.mark.slow
def test_viewer_in_headless_chromium(circuits_site, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    requests, problems = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.goto((circuits_site["out"] / "exercises" / "composition-scores.html").as_uri())
        viewer = page.locator(".mi-viewer").first
        viewer.scroll_into_view_if_needed()
        assert viewer.locator(".mi-viewer-static").is_hidden()  # the script took over from the static SVG
        titles = viewer.locator(".mi-viewer-panel-title").all_inner_texts()
        assert titles == ["Reference: Q-composition", "Your last check: Q-composition"], titles
        viewer.locator("select").select_option(label="K-composition")
        assert viewer.locator(".mi-viewer-panel-title").all_inner_texts()[1] == "Your last check: K-composition"
        cells = viewer.locator(".mi-viewer-reference rect.mi-cell")
        assert cells.count() == 16
        cells.nth(1).hover()  # row 0, column 1: writer 0.0, reader 1.1
        readout = viewer.locator(".mi-viewer-readout").inner_text()
        reference = circuits_site["reference"]["k"][0][1]
        assert readout == f"0.0 → 1.1: {reference:.3f} (reference, K-composition); yours: 0.500", readout
        assert viewer.locator(".mi-viewer-tip").is_visible() and viewer.locator(".mi-viewer-tip").inner_text() == readout
        viewer.locator(".mi-viewer-yours rect.mi-cell").nth(4).hover()  # row 1, column 0
        mine = circuits_site["mine"]["k_composition"][1][0]
        assert viewer.locator(".mi-viewer-readout").inner_text().startswith(f"0.1 → 1.0: {mine:.3f} (yours, K-composition)")
        values = viewer.locator(".mi-viewer-reference text.mi-cell-value").evaluate_all("els => els.map(e => e.textContent)")
        assert len(values) == 16 and f"{reference:.2f}".lstrip("0") in values  # cells large enough carry their values
        shot = tmp_path / "viewer.png"
        viewer.screenshot(path=str(shot))
        # the attention-pattern viewer: a head selector over every head, token pairs on hover
        patterns = page.locator(".mi-viewer").nth(1)
        patterns.scroll_into_view_if_needed()
        assert patterns.locator("select option").count() == 8
        patterns.locator("select").select_option(label="head 0.0")
        patterns.locator(".mi-viewer-reference rect.mi-cell").nth(21 * 5 + 4).hover()
        assert re.match(r"^5:\d+ → 4:\d+: \d\.\d{3} \(reference, head 0\.0\)$",
                        patterns.locator(".mi-viewer-readout").inner_text())
        import os
        keep = os.environ.get("MI_SITE_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(keep) / shot.name)
        browser.close()
    assert not problems, problems
    assert requests and all(r.startswith("file://") for r in requests), [r for r in requests if not r.startswith("file://")]
