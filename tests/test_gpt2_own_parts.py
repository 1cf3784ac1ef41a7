"""The GPT-2 chapter as a learner builds it: each later file imports the learner's earlier parts;
a part's check gets the reference versions of the parts it builds on (an earlier bug does not
cascade), and gpt2-your-model runs the learner's own parts together.

The learner's files here are the chapter's alternatives (graders/gpt2/*/alternatives/): whole,
idiomatic files written differently from the solutions (ARENA's persistent IGNORE buffer in
Attention, matmuls instead of einsum, F.cross_entropy, ...)."""

import shutil
from pathlib import Path

import pytest

from mi_exercise.catalog.loader import load_catalog
from mi_exercise.runner.check import CheckResult, run_check
from mi_exercise.runner.outcomes import Outcome
from mi_exercise.runner.plugin import TestResult as Result
from mi_exercise.workspace.workspace import init_workspace

ALTERNATIVE = {
    "gpt2-config-and-layernorm": "dict_merge_and_rsqrt.py", "gpt2-embeddings": "functional_embedding.py",
    "gpt2-attention": "ignore_buffer_matmul.py", "gpt2-mlp-and-block": "functional_gelu_einsum.py",
    "gpt2-model": "module_list_from_generator.py", "gpt2-sampling": "scatter_filters_arange_mask.py",
    "gpt2-your-model": "copy_parameters_no_cache.py",
}


def test_uses_are_resolved_dependencies_first():
    catalog = load_catalog()
    model = catalog.get("gpt2-model")
    assert [name for name, _ in model.uses] == ["gpt2_config_and_layernorm", "gpt2_embeddings", "gpt2_attention",
                                                "gpt2_mlp_and_block"]
    assert all(path.name == "solution.py" and path.is_file() for _, path in model.uses)
    assert [name for name, _ in catalog.get("gpt2-sampling").uses][-1] == "gpt2_model"
    assert catalog.get("gpt2-your-model").own_parts and not catalog.get("gpt2-model").own_parts
    assert catalog.get("gpt2-attention").uses == ()


def test_no_later_stub_carries_earlier_code():
    """The spoiler the issue named: later stubs held working reference components."""
    for ex in load_catalog().in_chapter("gpt2"):
        text = ex.stub_path.read_text()
        for earlier in ("class LayerNorm", "class Attention", "class Embed", "def gelu_new", "class TransformerBlock",
                        "class GPT2"):
            if earlier in text:
                assert "raise NotImplementedError" in text.split(earlier, 1)[1].split("\nclass ")[0], (ex.slug, earlier)
        if ex.uses:  # imports the learner's own earlier parts instead
            assert any(f"from {name} import" in text for name, _ in ex.uses), ex.slug


def test_a_test_skipped_on_purpose_is_not_a_failure():
    def result(*tests):
        return CheckResult(slug="x", learner_file="x.py", device="cpu", tests=list(tests))

    ok = Result("test_a", Outcome.PASSED)
    skipped = Result("test_gpt2", Outcome.NOT_RUN, "GPT-2 small is not in the cache")
    ran_out = Result("test_b", Outcome.TIMEOUT, "the check's time limit was used up before this test ran")
    assert result(ok, skipped).passed
    assert not result(ok, ran_out).passed  # time running out is a timeout (CheckTimeExceeded), not "not run"
    assert not result(skipped).passed  # nothing was tested


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """`mi-exercise init`, then the learner's own files for the chapter."""
    catalog = load_catalog()
    ws, _, _ = init_workspace(tmp_path_factory.mktemp("learner"), catalog)
    for slug, alternative in ALTERNATIVE.items():
        ex = catalog.get(slug)
        shutil.copyfile(ex.grader_dir / "alternatives" / alternative, ws.learner_file(catalog, ex))
    return catalog, ws


def check(catalog, ws, slug, **kwargs):
    ex = catalog.get(slug)
    return run_check(ex, ws.learner_file(catalog, ex), device="cpu", **kwargs)


@pytest.mark.slow
def test_learner_parts_pass_and_the_whole_model_is_their_own(workspace):
    catalog, ws = workspace
    attention = check(catalog, ws, "gpt2-attention")  # a persistent IGNORE buffer is the learner's own business
    assert attention.passed, [(t.name, t.message) for t in attention.tests]
    whole = check(catalog, ws, "gpt2-your-model")
    assert whole.passed, [(t.name, t.message) for t in whole.tests]
    assert {t.name: t.outcome for t in whole.tests}["test_your_model_with_gpt2_small"] is Outcome.NOT_RUN

    # now the learner's attention is wrong: the block's check still passes (it gets the reference
    # Attention), and the whole model names the learner's attention as the part that differs
    attention_file = ws.learner_file(catalog, catalog.get("gpt2-attention"))
    good = attention_file.read_text()
    attention_file.write_text(good.replace('math.sqrt(self.cfg["d_head"])', 'math.sqrt(self.cfg["d_model"])'))
    try:
        block = check(catalog, ws, "gpt2-mlp-and-block")
        assert block.passed, [(t.name, t.message) for t in block.tests]
        whole = check(catalog, ws, "gpt2-your-model")
        messages = {t.name: t.message for t in whole.tests}
        assert not whole.passed
        message = messages["test_your_model_loads_the_tiny_gpt2"]
        assert "`blocks.0.attn`, your Attention (gpt2_attention.py)" in message, message
        assert "mi-exercise check gpt2-attention" in message
        # the text tests build on the model: they name it instead of blaming generation
        for test in ("test_your_model_writes_greedy_text", "test_your_model_samples_text"):
            assert "this test uses your GPT-2, which is wrong here" in messages[test], messages[test]
    finally:
        attention_file.write_text(good)


@pytest.mark.slow
def test_a_file_that_cannot_be_imported_beside_does_not_cascade(workspace):
    """The learner's earlier file raises at import: the later part's check never imports it."""
    catalog, ws = workspace
    ln = ws.learner_file(catalog, catalog.get("gpt2-config-and-layernorm"))
    good = ln.read_text()
    ln.write_text("raise RuntimeError('half-written')\n" + good)
    try:
        block = check(catalog, ws, "gpt2-mlp-and-block")
        assert block.passed, [(t.name, t.message) for t in block.tests]
        whole = check(catalog, ws, "gpt2-your-model")
        assert not whole.passed
        message = whole.tests[0].message
        assert "half-written" in message and "gpt2_config_and_layernorm.py" in message, message
    finally:
        ln.write_text(good)


@pytest.mark.parametrize("uses, words", [
    ('uses = ["no-such-exercise"]', "unknown exercise 'no-such-exercise'"),
    ('uses = ["gpt2-mlp-and-block"]', "cycle: gpt2-attention -> gpt2-mlp-and-block -> gpt2-attention"),
    ('uses = "gpt2-model"', "must be a list"),
])
def test_bad_uses_is_a_clear_catalog_error(tmp_path, uses, words):
    from mi_exercise.catalog.loader import CatalogError
    from tests.conftest import copy_content

    root = copy_content(tmp_path)
    toml = root / "exercises" / "gpt2" / "gpt2-attention" / "exercise.toml"
    toml.write_text(toml.read_text().replace("hints = [", uses + "\nhints = [", 1))
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    assert info.value.field == "uses" and words in str(info.value), str(info.value)
