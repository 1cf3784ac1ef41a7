"""The static site: built from a workspace with progress, checked as HTML and in headless Chromium."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.conftest import REPO, copy_content, run_cli, solution_text

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
LEARNER = "00-foundations/tensor_basics.py"
EXTERNAL = re.compile(r"""(?:src|href|action|poster)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def second_exercise(content: Path) -> Path:
    """Add a copy of tensor-basics as a second exercise, so the index has two statuses to show."""
    src = content / "exercises" / "foundations" / "tensor-basics"
    dst = content / "exercises" / "foundations" / "tensor-basics-two"
    shutil.copytree(src, dst)
    toml = (dst / "exercise.toml").read_text()
    toml = toml.replace('slug = "tensor-basics"', 'slug = "tensor-basics-two"')
    toml = toml.replace('title = "Tensor basics"', 'title = "Tensor basics, again"').replace("order = 1", "order = 2")
    (dst / "exercise.toml").write_text(toml)
    shutil.copytree(content / "graders" / "foundations" / "tensor-basics", content / "graders" / "foundations" / "tensor-basics-two")
    return dst


PICTURES = '''
import math

def pictures(context):
    n = 6
    pattern = [[(1.0 if j == max(i - 1, 0) else 0.0) for j in range(n)] for i in range(n)]
    tokens = ["A", "B", "C", "A", "B", "C"]
    return [
        {"kind": "heatmap", "title": "Attention pattern", "data": pattern, "x_labels": tokens, "y_labels": tokens,
         "x_title": "key", "y_title": "query", "caption": "a previous-token head; status " + context["status"]},
        {"kind": "lines", "title": "Loss", "series": {"train": [3 * math.exp(-k / 8) + 0.1 for k in range(40)]},
         "x_title": "step", "y_title": "loss"},
    ]
'''


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Content with two exercises (one with a pictures hook), a workspace where the first is passed
    and the second failed once, and the site built from it."""
    base = tmp_path_factory.mktemp("site")
    content = copy_content(base / "content", ["tensor-basics"])
    second = second_exercise(content)
    (content / "exercises" / "foundations" / "tensor-basics" / "pictures.py").write_text(PICTURES)
    env = {"MI_EXERCISE_CONTENT": str(content)}
    ws = base / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    (ws / LEARNER).write_text(solution_text("foundations", "tensor-basics"))
    assert run_cli("check", "tensor-basics", cwd=ws, env=env).returncode == 0
    assert run_cli("check", "tensor-basics-two", cwd=ws, env=env).returncode == 1
    out = base / "out"
    result = run_cli("site", "build", "--out", str(out), "--workspace", str(ws), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    progress = json.loads(run_cli("progress", "--json", cwd=ws, env=env).stdout)
    return {"out": out, "ws": ws, "env": env, "content": content, "progress": progress, "second": second}


def test_site_pages_have_progress_maths_code_hints_and_last_check(built):
    out = built["out"]
    index = (out / "index.html").read_text()
    assert 'data-slug="tensor-basics" data-status="passed"' in index
    assert 'data-slug="tensor-basics-two" data-status="in progress"' in index
    assert 'data-passed="1" data-total="2"' in index
    assert 'href="exercises/tensor-basics-two.html">Tensor basics, again' in index  # what's next
    page = (out / "exercises" / "tensor-basics.html").read_text()
    assert "<math" in page and "<mfrac>" in page  # MathML made here
    assert 'class="highlight"' in page and '<span class="k">def</span>' in page  # Pygments
    assert page.count('<details class="hint">') == 4
    assert "arange_grid" in page and "torch" in page and "Tensor" in page
    assert 'class="result result-passed"' in page and "test_normalize_columns" in page
    assert page.count("<svg") >= 2 and "Attention pattern" in page  # the pictures hook
    assert "a previous-token head; status passed" in page  # the hook is told the exercise's progress
    other = (out / "exercises" / "tensor-basics-two.html").read_text()
    assert 'class="result result-failed"' in other and "outcome-passed" not in other and "<code>test_arange_grid</code>" in other
    for path in out.rglob("*.html"):
        assert not EXTERNAL.search(path.read_text()), f"{path} refers to another host"
    for path in (out / "assets").iterdir():
        assert "http" not in path.read_text().replace("http://www.w3.org", ""), path


# -- the TransformerLens chapter's pictures --------------------------------------------------------
TL_SLUGS = ["tl-basics", "attention-head-detectors", "repeated-tokens", "induction-scores", "logit-attribution",
            "head-ablation"]
SVG = re.compile(r'<svg class="figure-svg".*?</svg>', re.S)
CELL = re.compile(r"<title>\[(\d+), (\d+)\] = ")


def figures_of(page: str) -> list[dict]:
    """Each figure on a page: its caption title, and for a heatmap its rows x columns (from the
    cells' tooltips), for a lines chart its number of curves."""
    out = []
    for fig in re.findall(r"<figure>(.*?)</figure>", page, re.S):
        svg = SVG.search(fig).group(0)
        title = re.search(r"<figcaption><strong>(.*?)</strong>", fig).group(1)
        cells = [(int(i), int(j)) for i, j in CELL.findall(svg)]
        shape = (max(i for i, _ in cells) + 1, max(j for _, j in cells) + 1) if cells else None
        if cells:
            assert len(cells) == shape[0] * shape[1], title
        out.append({"title": title, "shape": shape, "curves": svg.count("<polyline"), "caption": fig})
    return out


@pytest.fixture(scope="module")
def tl_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("tl-site") / "out"
    result = run_cli("site", "build", "--out", str(out), cwd=out.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    return {"out": out}


def load_hook(slug: str):
    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.site_builder.pictures import hook_path

    ex = load_catalog().get(slug)
    spec = importlib.util.spec_from_file_location(f"hook_{ex.module_name}", hook_path(ex))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return ex, module.pictures


def test_transformerlens_pages_draw_patterns_and_scores(tl_site):
    from mi_exercise.models.induction_numpy import model_info

    info = model_info()
    n_layers, n_heads = info["model_config"]["n_layers"], info["model_config"]["n_heads"]
    T = 1 + 2 * 10  # the patterns are drawn on [BOS] + seq + seq with seq_len 10
    pages = {slug: figures_of((tl_site["out"] / "exercises" / f"{slug}.html").read_text()) for slug in TL_SLUGS}

    # tl-basics: one pattern per head of the shipped model
    assert [f["shape"] for f in pages["tl-basics"]] == [(T, T)] * (n_layers * n_heads)
    assert [f["title"] for f in pages["tl-basics"]][:2] == ["Layer 0, head 0 (a previous-token head)", "Layer 0, head 1"]

    # induction-scores: a layer x head score map, then the pattern of each induction head
    figs = pages["induction-scores"]
    assert figs[0]["title"] == "Induction score per head" and figs[0]["shape"] == (n_layers, n_heads)
    induction = [f"{l}.{h}" for l, h in info["induction_heads"]]
    assert [f["title"] for f in figs[1:]] == [f"Head {h}: an induction head" for h in induction]
    assert all(f["shape"] == (T, T) for f in figs[1:])
    assert "finds " + ", ".join(induction) + "." in figs[0]["caption"]
    assert "Code that passes mi-exercise check induction-scores finds these same induction heads" in figs[0]["caption"]

    # attention-head-detectors: three score maps, then the previous-token heads' patterns among the found heads
    figs = pages["attention-head-detectors"]
    assert [f["shape"] for f in figs[:3]] == [(n_layers, n_heads)] * 3
    assert [f["title"] for f in figs[:3]] == ["Previous-token score per head", "Current-token score per head",
                                              "First-token score per head"]
    previous = [f"Head {l}.{h}: a previous-token head" for l, h in info["previous_token_heads"]]
    assert [f["title"] for f in figs[3:3 + len(previous)]] == previous
    assert all(f["shape"] == (T, T) for f in figs[3:])

    # repeated-tokens: one chart, the first copy and the repeated copy as two curves
    (fig,) = pages["repeated-tokens"]
    assert fig["shape"] is None and fig["curves"] == 2

    # logit-attribution: component x predicted-token attribution, then its mean on each copy
    n_components = 2 + n_layers * n_heads + 1
    assert [(f["title"], f["shape"]) for f in pages["logit-attribution"]] == [
        ("Direct logit attribution per component and position", (n_components, 2 * 20)),
        ("Mean attribution on each copy", (2, n_components))]

    # head-ablation: a layer x head loss-increase map per ablation, then three per-token loss curves
    figs = pages["head-ablation"]
    assert [(f["title"], f["shape"]) for f in figs[:2]] == [
        (f"Repeated-half loss increase, each head {kind}-ablated alone", (n_layers, n_heads)) for kind in ("zero", "mean")]
    assert figs[2]["title"] == "Per-token loss on one repeated sequence" and figs[2]["curves"] == 3


def test_pictures_import_neither_torch_nor_transformerlens():
    """Importing torch and TransformerLens costs seconds; the site's pictures run the shipped model
    in numpy, so building the pages stays fast."""
    code = ("import sys, time\n"
            "from mi_exercise.catalog.loader import load_catalog\n"
            "from mi_exercise.site_builder.pictures import exercise_pictures\n"
            "cat = load_catalog(); t = time.monotonic()\n"
            f"figs = [exercise_pictures(cat.get(s), {{'workspace': None, 'learner_file': None, 'status': 'passed'}}) for s in {TL_SLUGS!r}]\n"
            "print(sum(map(len, figs)), 'torch' in sys.modules, 'transformer_lens' in sys.modules, time.monotonic() - t)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    n, torch_loaded, tl_loaded, seconds = result.stdout.split()
    assert int(n) >= 8 + 5 + 5 + 1 + 2 + 3 and torch_loaded == "False" and tl_loaded == "False", result.stdout


def test_repeated_tokens_picture_shows_the_repeated_half_lower():
    ex, pictures = load_hook("repeated-tokens")
    (fig,) = pictures({"exercise": ex, "workspace": None, "learner_file": None, "status": "not started"})
    (x1, first), (x2, second) = fig["series"].values()
    assert len(first) == len(second) == 30 and list(x2) == [x + 30 for x in x1]
    mean_first, mean_second = sum(first) / 30, sum(second) / 30
    assert mean_first > 4.0, "the first copy is random: its loss is near ln(127) = 4.84"
    assert mean_second < mean_first / 3, (mean_first, mean_second)
    assert max(second[5:]) < min(first), "past the first tokens of the copy, every repeated token is easier"
    assert f"{mean_first:.2f} nats" in fig["caption"] and f"{mean_second:.2f} nats" in fig["caption"]
    assert "passed the grader" not in fig["caption"]
    (passed,) = pictures({"exercise": ex, "workspace": Path("/ws"), "learner_file": None, "status": "passed"})
    assert "Your loss_by_half passed the grader" in passed["caption"]


@pytest.mark.parametrize("slug, what", [("induction-scores", "induction heads"),
                                        ("attention-head-detectors", "previous-token heads")])
def test_heads_found_are_labelled_by_progress(slug, what):
    """The pictures never run the learner's file: they show the reference computation's heads, and say
    that the learner's code finds them only when the workspace's progress says the exercise passed."""
    ex, pictures = load_hook(slug)
    learner = Path("/nonexistent/learner.py")  # never opened
    base = {"exercise": ex, "workspace": Path("/nonexistent"), "learner_file": learner}
    before = pictures({**base, "status": "in progress"})[0]["caption"]
    after = pictures({**base, "status": "passed"})[0]["caption"]
    assert f"When your code passes mi-exercise check {slug}, it finds these same {what}." in before
    assert "these are the heads your code found" not in before
    assert f"Your code passed the grader of {slug}" in after and "these are the heads your code found" in after


def test_site_builds_without_a_workspace(tmp_path, cli):
    result = cli("site", "build", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "without a workspace" in result.stdout
    assert "Built without a workspace" in (tmp_path / "out" / "exercises" / "tensor-basics.html").read_text()


@pytest.mark.parametrize("line, text, expect", [
    (5, "Here {{ undefined_name }} is used.", "undefined value"),
    (7, "A {% for x in %} broken tag.", "template syntax error"),
    (9, "Unclosed maths $x + y here.", "unclosed maths"),
    (3, "Bad maths $\\frac{1}{$ here.", "cannot render the maths"),
])
def test_broken_page_is_reported_with_exercise_and_line(content, tmp_path, line, text, expect):
    page = content / "exercises" / "foundations" / "tensor-basics" / "page.md"
    lines = page.read_text().split("\n")
    lines[line - 1] = text
    page.write_text("\n".join(lines))
    result = run_cli("site", "build", "--out", str(tmp_path / "out"), cwd=tmp_path,
                     env={"MI_EXERCISE_CONTENT": str(content)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "tensor-basics" in result.stderr and f"line {line}" in result.stderr and expect in result.stderr
    assert "Traceback" not in result.stderr and "jinja2" not in result.stderr


def test_broken_template_and_pictures_hook_are_reported(content, tmp_path):
    env = {"MI_EXERCISE_CONTENT": str(content)}
    hook = content / "exercises" / "foundations" / "tensor-basics" / "pictures.py"
    hook.write_text("def pictures(context):\n    data = [[1, 2], [3]]\n    return [{'kind': 'heatmap', 'data': data}]\n")
    result = run_cli("site", "build", "--out", str(tmp_path / "o1"), cwd=tmp_path, env=env)
    assert result.returncode == 2 and "tensor-basics" in result.stderr and "same, non-zero length" in result.stderr
    hook.write_text("def pictures(context):\n    return [1 / 0]\n")
    result = run_cli("site", "build", "--out", str(tmp_path / "o2"), cwd=tmp_path, env=env)
    assert result.returncode == 2 and "pictures.py, line 2" in result.stderr and "ZeroDivisionError" in result.stderr
    hook.unlink()
    template = content / "templates" / "site" / "exercise.html"
    lines = template.read_text().split("\n")
    lines[3] = "{{ exercise.slug | nosuchfilter }}"
    template.write_text("\n".join(lines))
    result = run_cli("site", "build", "--out", str(tmp_path / "o3"), cwd=tmp_path, env=env)
    assert result.returncode == 2 and "exercise.html, line 4" in result.stderr and "nosuchfilter" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_serves_on_localhost_and_rebuilds_on_change(content, tmp_path):
    env = {**os.environ, "MI_EXERCISE_CONTENT": str(content)}
    env.pop("PYTEST_CURRENT_TEST", None)
    proc = subprocess.Popen([sys.executable, "-m", "mi_exercise", "site", "serve", "--port", "0", "--interval", "0.3",
                             "--out", str(tmp_path / "out")], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        for line in proc.stdout:
            m = re.search(r"Serving on (http://127\.0\.0\.1:\d+/)", line)
            if m:
                url = m.group(1)
                break
        assert url, "serve did not report its address"
        page = urllib.request.urlopen(url + "exercises/tensor-basics.html", timeout=10).read().decode()
        assert "Tensor basics" in page
        md = content / "exercises" / "foundations" / "tensor-basics" / "page.md"
        md.write_text(md.read_text().replace("Everything in this track", "Freshly edited: everything in this track"))
        deadline = time.time() + 30
        while time.time() < deadline:
            page = urllib.request.urlopen(url + "exercises/tensor-basics.html", timeout=10).read().decode()
            if "Freshly edited" in page:
                break
            time.sleep(0.3)
        assert "Freshly edited" in page
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- headless Chromium --------------------------------------------------------------------------
def png_distinct_rows(data: bytes) -> int:
    """Decode a PNG's scanlines (no imaging library) and count the distinct ones: a blank page has 1."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    channels = 4
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, _, depth, colour = struct.unpack(">IIBB", chunk[:10])
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    return len({raw[i + 1:i + stride] for i in range(0, len(raw), stride)})


@pytest.mark.slow
def test_site_in_headless_chromium(built, tl_site, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium chromium-driver)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    out = built["out"]
    requests, problems = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
        todo, seen = [(out / "index.html").as_uri()], set()
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            seen.add(url)
            response = page.goto(url)
            assert response is None or response.ok, url
            page.wait_for_load_state("load")
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                target = urlparse(href)
                assert target.scheme == "file", f"{url} links to {href}"
                path = Path(unquote(target.path))
                assert path.is_file(), f"{url}: broken link {href}"
                if target.fragment:
                    assert f'id="{target.fragment}"' in path.read_text(), f"{url}: no anchor for {href}"
                todo.append(target._replace(fragment="").geturl())
        assert len(seen) == 1 + 2  # index and both exercise pages

        # the progress on the index matches the workspace
        page.goto((out / "index.html").as_uri())
        shown = dict(page.eval_on_selector_all("li.card", "els => els.map(e => [e.dataset.slug, e.dataset.status])"))
        expected = {e["slug"]: e["status"] for c in built["progress"]["chapters"] for e in c["exercises"]}
        assert shown == expected
        passed = page.get_attribute("#overall-progress", "data-passed")
        assert int(passed) == built["progress"]["passed"] == 1
        assert page.inner_text(".next-link") == "Tensor basics, again"

        # the exercise page: maths laid out, hints folded, a screenshot with content
        page.goto((out / "exercises" / "tensor-basics.html").as_uri())
        assert page.locator("math").count() >= 3
        box = page.locator(".math-display math").first.bounding_box()
        assert box and box["height"] > 20  # MathML is laid out, not shown as raw TeX
        assert not page.locator("details.hint").first.evaluate("d => d.open")
        assert "$$" not in page.inner_text(".page")
        shot = tmp_path / "tensor-basics.png"
        page.screenshot(path=str(shot))
        assert png_distinct_rows(shot.read_bytes()) > 100
        width = page.evaluate("document.querySelector('.page p').getBoundingClientRect().width")
        assert 400 < width < 800  # a readable measure
        light = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page.emulate_media(color_scheme="dark")
        dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert light != dark
        page.locator("#fn-normalize_columns").scroll_into_view_if_needed()
        dark_shot = tmp_path / "tensor-basics-dark.png"
        page.screenshot(path=str(dark_shot), full_page=True)
        keep = os.environ.get("MI_SITE_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(keep) / shot.name)
            shutil.copy(dark_shot, Path(keep) / dark_shot.name)

        # a TransformerLens page: the score map and the induction heads' patterns are drawn at full size
        page.goto((tl_site["out"] / "exercises" / "induction-scores.html").as_uri())
        boxes = page.eval_on_selector_all("section.figures svg", "els => els.map(e => e.getBoundingClientRect().width)")
        assert len(boxes) == 5 and all(w > 150 for w in boxes), boxes
        cells = page.eval_on_selector_all("section.figures svg", "els => els.map(e => e.querySelectorAll('rect > title').length)")
        assert cells == [8, 441, 441, 441, 441], cells
        browser.close()
    assert not problems, problems
    assert requests and all(r.startswith("file://") for r in requests), [r for r in requests if not r.startswith("file://")]


def test_logit_attribution_and_head_ablation_pictures_back_their_captions():
    """The two pages' captions describe the data: the induction heads carry the repeated copy's logits
    from about its fourth token on, and ablating them (or the previous-token heads) keeps the repeated
    half's loss near chance while the clean loss drops."""
    from mi_exercise.models.induction_numpy import model_info

    info = model_info()
    context = {"workspace": None, "learner_file": None, "status": "not started"}
    ex, pictures = load_hook("logit-attribution")
    per_position, halves = pictures({"exercise": ex, **context})
    labels = per_position["y_labels"]
    induction = [labels.index(f"{l}.{h}") for l, h in info["induction_heads"]]
    rows = per_position["data"].tolist()
    carried = [sum(rows[i][p] for i in induction) for p in range(40)]
    assert all(abs(c) < 1.0 for c in carried[:20] + carried[20:23]), carried
    assert min(carried[23:]) > 2.0 and sum(carried[23:]) > 0.9 * sum(sum(r[p] for r in rows) for p in range(23, 40))
    second = halves["data"][1]
    assert sorted(range(len(second)), key=second.__getitem__)[-len(induction):] == sorted(induction, key=second.__getitem__)

    ex, pictures = load_hook("head-ablation")
    zero, mean, curves = pictures({"exercise": ex, **context})
    cfg = info["model_config"]
    assert zero["data"].shape == mean["data"].shape == (cfg["n_layers"], cfg["n_heads"])
    (x, clean), (_, no_induction), (_, no_previous) = curves["series"].values()
    assert len(x) == len(clean) == 50
    assert sum(clean[30:]) / 20 < 1.0, "clean, the repeated half is predicted"
    for ablated in (no_induction, no_previous):
        assert min(ablated[25:]) > 3.5, "ablated, the repeated half stays near chance (ln 127 = 4.84)"


def test_public_site_has_no_progress_and_hints_are_optional(built, tmp_path):
    """`site build --public` (issue 17, item 6): built from inside a workspace with progress, it
    still shows nobody's progress or last check; --no-hints leaves the hints out."""
    env, ws = built["env"], built["ws"]
    out = tmp_path / "public"
    r = run_cli("site", "build", "--public", "--no-hints", "--out", str(out), cwd=ws, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "for the public (no progress, no hints)" in r.stdout
    index = (out / "index.html").read_text()
    page = (out / "exercises" / "tensor-basics.html").read_text()
    for html in (index, page):
        assert "overall-progress" not in html and "track-progress" not in html and 'class="count"' not in html
        assert "status-passed" not in html and "status-not-started" not in html and str(ws) not in html
    assert "Your last check" not in page and 'class="hint"' not in page
    assert "Functions to write" in page and 'href="exercises/tensor-basics.html"' in index
    # the same with hints: they are there, folded away
    r = run_cli("site", "build", "--public", "--out", str(tmp_path / "with-hints"), cwd=ws, env=env)
    assert r.returncode == 0, r.stderr
    hinted = (tmp_path / "with-hints" / "exercises" / "tensor-basics.html").read_text()
    assert 'class="hint"' in hinted and "Your last check" not in hinted
    # the learner's own site still shows progress (unchanged)
    assert "status-passed" in (built["out"] / "index.html").read_text()
    bad = run_cli("site", "build", "--public", "--workspace", str(ws), "--out", str(tmp_path / "x"), env=env)
    assert bad.returncode == 2 and "--public" in bad.stderr
