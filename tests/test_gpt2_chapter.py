"""The gpt2 chapter end to end: its exercises load, and graders pass the solution and reject a mutant
with a message that points at the mistake (through run_check, the real worker and proxy)."""

import pytest

from mi_exercise.catalog.loader import load_catalog
from mi_exercise.runner.check import run_check
from mi_exercise.validate import run_override

SLUGS = ["gpt2-config-and-layernorm", "gpt2-embeddings", "gpt2-attention", "gpt2-mlp-and-block", "gpt2-model",
         "gpt2-sampling", "gpt2-training"]


def test_chapter_exercises_are_complete():
    catalog = load_catalog()
    chapter = [ex.slug for ex in catalog.in_chapter("gpt2")]
    assert chapter[: len(SLUGS)] == SLUGS
    for slug in SLUGS:
        ex = catalog.get(slug)
        assert ex.page_path.is_file() and ex.stub_path.is_file() and ex.solution_path.is_file()
        assert len(ex.mutant_paths) >= 3 and len(ex.hints) >= 3 and ex.grader_files
        assert "NotImplementedError" in ex.stub_path.read_text()


@pytest.mark.slow
def test_attention_solution_passes_and_mutant_is_named():
    ex = load_catalog().get("gpt2-attention")
    good = run_check(ex, ex.solution_path, device="cpu")
    assert good.passed, [(t.name, t.message) for t in good.tests]
    bad = run_override(ex, ex.grader_dir / "mutants" / "scale_by_d_model.py", device="cpu")
    assert not bad.passed
    messages = {t.name: t.message for t in bad.tests}
    assert "sqrt(d_model)" in messages["test_attention_pattern"]


@pytest.mark.slow
def test_block_residual_mutant_is_named():
    ex = load_catalog().get("gpt2-mlp-and-block")
    bad = run_override(ex, ex.grader_dir / "mutants" / "residual_missing.py", device="cpu")
    messages = {t.name: t.message for t in bad.tests}
    assert "residual connection around attention is missing" in messages["test_transformer_block"]


@pytest.mark.slow
def test_model_solution_passes():
    ex = load_catalog().get("gpt2-model")
    good = run_check(ex, ex.solution_path, device="cpu")
    assert good.passed, [(t.name, t.message) for t in good.tests]
    bad = run_override(ex, ex.grader_dir / "mutants" / "no_ln_final.py", device="cpu")
    messages = {t.name: t.message for t in bad.tests}
    assert "ln_final" in messages["test_model_logits"]


@pytest.mark.slow
def test_sampling_solution_passes_and_cache_mutant_is_named():
    ex = load_catalog().get("gpt2-sampling")
    good = run_check(ex, ex.solution_path, device="cpu")
    assert good.passed, [(t.name, t.message) for t in good.tests]
    bad = run_override(ex, ex.grader_dir / "mutants" / "cache_positions_restart.py", device="cpu")
    messages = {t.name: t.message for t in bad.tests}
    assert "positional embedding of position 0" in messages["test_cache_one_token_steps"]
    bad = run_override(ex, ex.grader_dir / "mutants" / "top_p_excludes_crossing_token.py", device="cpu")
    messages = {t.name: t.message for t in bad.tests}
    assert "crosses" in messages["test_top_p_filter"] or "past p" in messages["test_top_p_filter"]


@pytest.mark.slow
def test_training_shift_mutant_is_named():
    """The whole check (its training run takes up to a minute on a busy machine)."""
    ex = load_catalog().get("gpt2-training")
    bad = run_override(ex, ex.grader_dir / "mutants" / "no_shift.py", device="cpu")
    messages = {t.name: t.message for t in bad.tests}
    assert "tokens[:, t + 1]" in messages["test_per_token_loss"]
