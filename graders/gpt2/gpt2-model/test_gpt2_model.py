"""Grader for gpt2-model: the whole GPT-2.

The learner's GPT2 loads the weights of TransformerLens 4's native model (seeded random weights;
reduced shape by default, GPT-2 small's full shape with `check --full`) and must give the same
logits. test_pretrained_model compares with a real trained model: the small GPT-2 the project
ships by default, or GPT-2 small from the Hugging Face cache with `check --model gpt2`.
"""

import pytest
import torch

from mi_exercise.grading import assert_close, fail
from mi_exercise.models import gpt2_reference
from mi_exercise.models.gpt2_grading import build, load_weights, reference_for, tokens


@pytest.fixture
def ref(options):
    return reference_for(bool(options.get("full")))


def _variants(ref, t):
    """Logits of the usual wrong models, from the reference's own components."""
    cfg, bridge, _ = ref
    with torch.no_grad():
        embed = bridge.embed(t)
        pos = bridge.pos_embed(gpt2_reference.positions(t))

        def run(x, blocks):
            for blk in blocks:
                (x,) = blk(x)
            return x

        full = run(embed + pos, bridge.blocks)
        return {
            "no final LayerNorm before the unembedding (ln_final)": bridge.unembed(full),
            "no positional embedding added to the token embedding": bridge.unembed(bridge.ln_final(run(embed, bridge.blocks))),
            "the last block skipped": bridge.unembed(bridge.ln_final(run(embed + pos, list(bridge.blocks)[:-1]))),
        }


def _compare_logits(model, ref, t, label, device):
    _, bridge, _ = ref
    with torch.no_grad():
        expected = bridge(t)
    actual = model(t)
    try:
        assert_close(actual, expected, name=f"GPT2({label})", device=device)
    except AssertionError:
        if isinstance(actual, torch.Tensor):
            for what, value in _variants(ref, t).items():
                if actual.shape == value.shape and torch.allclose(actual, value, rtol=1e-3, atol=1e-3):
                    fail(f"GPT2({label}) gives the logits of a model with {what}")
        raise


def test_model_logits(submission, ref, device, options):
    cfg, _, sd = ref
    model = build(submission, "GPT2", cfg)
    load_weights(model, sd, "GPT2")
    cases = [("tokens [1, 1]", tokens(70, 1, 1, cfg["d_vocab"])), ("tokens [2, 9]", tokens(71, 2, 9, cfg["d_vocab"]))]
    if not options.get("full"):
        cases.append((f"tokens [1, {cfg['n_ctx']}] (a full context)", tokens(72, 1, cfg["n_ctx"], cfg["d_vocab"])))
    for label, t in cases:
        _compare_logits(model, ref, t, label, device)


def test_layers_are_separate(submission):
    """Each block has its own weights (a list of one block repeated shares them)."""
    cfg, _, sd = reference_for(False)
    model = build(submission, "GPT2", cfg)
    load_weights(model, sd, "GPT2")
    after = model.state_dict()
    for name in ("attn.W_Q", "mlp.W_in", "ln1.w"):
        a, b = after.get(f"blocks.0.{name}"), after.get(f"blocks.1.{name}")
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b):
            fail(f"after loading GPT-2's weights, blocks.0.{name} equals blocks.1.{name}: your blocks share one "
                 "TransformerBlock object; build a new TransformerBlock(cfg) for each of the n_layers layers")
    # only GPT-2's weights: a buffer of the learner's own (a mask) is theirs to keep
    if isinstance(after, dict):
        after = {k: after[k] for k in sd if k in after}
    assert_close(after, sd, name="GPT2.state_dict() after load_state_dict")


def test_pretrained_model(submission, device, options):
    """A real trained model: the shipped tiny GPT-2, or GPT-2 small with --model gpt2."""
    name = options.get("model")
    if name:
        from mi_exercise.models.gpt2_pretrained import PretrainedUnavailable, load_pretrained

        try:
            cfg, sd, bridge = load_pretrained(name)
        except PretrainedUnavailable as exc:
            pytest.skip(str(exc))
        text_tokens = (bridge.to_tokens("The quick brown fox jumps over the lazy dog because it", prepend_bos=True)
                       if bridge.tokenizer is not None else tokens(73, 1, 12, cfg["d_vocab"]))
    else:
        from mi_exercise.models.gpt2_tiny import load_tiny, tiny_bridge

        cfg, sd, tokenizer = load_tiny()
        bridge = tiny_bridge(cfg, sd)
        name = "the shipped tiny GPT-2"
        text_tokens = torch.tensor([tokenizer.encode("the small cat sat on the warm mat . the dog")])
    model = build(submission, "GPT2", cfg)
    load_weights(model, sd, f"GPT2 ({name})")
    with torch.no_grad():
        expected = bridge(text_tokens)
    actual = model(text_tokens)
    # trained weights are larger than random ones; the logits get an absolute tolerance to match
    assert_close(actual, expected, name=f"GPT2 with {name}'s weights (tokens {list(text_tokens.shape)})",
                 device=device, rtol=1e-4, atol=2e-4 if str(device) == "cpu" else 2e-2)
