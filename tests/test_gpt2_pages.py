"""The GPT-2 chapter's pages say what is true: maths without stray TeX escapes, the measured GELU
gap, the training page's functions, time limit and seeding."""

import re

import torch

from mi_exercise.catalog.loader import load_catalog
from mi_exercise.site_builder.render import latex_to_mathml, markdown_to_html


def test_escaped_underscores_in_text_maths_lose_their_backslash():
    mathml = latex_to_mathml(r"[\text{batch}, \text{n\_heads}] \text{resid\_pre}", display=False)
    assert "<mtext>n_heads</mtext>" in mathml and "<mtext>resid_pre</mtext>" in mathml and "\\" not in mathml


def test_gpt2_pages_show_no_backslash_in_text():
    for ex in load_catalog().in_chapter("gpt2"):
        html = markdown_to_html(ex.page_path.read_text())
        assert not re.findall(r"<mtext[^>]*>[^<]*\\[^<]*</mtext>", html), ex.slug


def test_mlp_page_states_the_measured_gelu_gap():
    x = torch.linspace(-10, 10, 200001, dtype=torch.float64)
    gap = (torch.nn.functional.gelu(x) - torch.nn.functional.gelu(x, approximate="tanh")).abs().max().item()
    page = load_catalog().get("gpt2-mlp-and-block").page_path.read_text()
    assert f"{gap * 1e4:.1f} \\times 10^{{-4}}" in page, gap


def test_training_page_states_its_task_limit_and_seeding():
    ex = load_catalog().get("gpt2-training")
    page = ex.page_path.read_text()
    task = page.split("## Your task", 1)[1]
    assert "`random_windows(" in task and "torch.manual_seed(seed)" in task
    assert f"**{ex.limits.test_seconds:g} seconds**" in task
