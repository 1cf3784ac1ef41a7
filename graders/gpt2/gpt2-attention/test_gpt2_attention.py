"""Grader for gpt2-attention: the causal mask, the attention pattern and the attention output.

The learner's Attention loads the weights of TransformerLens 4's native model (seeded random
weights; W_Q [n_heads, d_model, d_head], W_O [n_heads, d_head, d_model]) and is compared with
the reference's own attention layer, which returns (output, pattern).
"""

import math

import pytest
import torch

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.gpt2_grading import build, load_weights, randn, reference_for
from mi_exercise.models.gpt2_reference import component


@pytest.fixture
def ref(options):
    return reference_for(bool(options.get("full")))


def inputs(cfg):
    d = cfg["d_model"]
    yield "x [1, 1, d_model]", randn(30, 1, 1, d)
    yield "x [2, 6, d_model]", randn(31, 2, 6, d)
    yield f"x [1, {cfg['n_ctx']}, d_model] (a full context)", randn(32, 1, cfg["n_ctx"], d)
    yield "x [3, 5, d_model] (a non-contiguous view)", randn(33, 3, d, 5).transpose(1, 2)


def loaded_attention(submission, ref):
    cfg, bridge, sd = ref
    attn = build(submission, "Attention", cfg)
    weights = component(sd, "blocks.0.attn")
    load_weights(attn, weights, "Attention")
    return attn, weights


def test_apply_causal_mask(submission, ref):
    cfg, _, _ = ref
    attn = build(submission, "Attention", cfg)
    for seq in [1, 4, 9]:
        scores = randn(40 + seq, 2, cfg["n_heads"], seq, seq) * 3
        out = attn.apply_causal_mask(scores)
        label = f"apply_causal_mask(scores [2, n_heads, {seq}, {seq}])"
        if not isinstance(out, torch.Tensor) or out.shape != scores.shape:
            fail(f"{label} should return a tensor of shape {tuple(scores.shape)}")
        future = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)
        kept = out[..., ~future]
        if torch.isinf(kept).any() or (kept < -1e4).any():
            fail(f"{label} masked a key at or before its query (the diagonal counts as allowed: "
                 "a token attends to itself); mask only keys k > q, torch.triu(..., diagonal=1)")
        assert_close(kept, scores[..., ~future], name=f"{label} on and below the diagonal")
        masked = out[..., future]
        if masked.numel() and not (masked < -1e4).all():
            fail(f"{label} left a future key (k > q) unmasked; set every entry above the diagonal to -inf")


def _scale_diagnosis(actual, x, w, cfg):
    """Name a wrong scale when the learner's pattern matches the pattern under that scale."""
    q = torch.einsum("bsd,hde->bshe", x, w["W_Q"]) + w["b_Q"]
    k = torch.einsum("bsd,hde->bshe", x, w["W_K"]) + w["b_K"]
    raw = torch.einsum("bqhe,bkhe->bhqk", q, k)
    seq = x.shape[1]
    future = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)
    for scale, what in [(math.sqrt(cfg["d_model"]), "sqrt(d_model)"), (cfg["d_head"], "d_head (without the square root)"),
                        (1.0, "nothing (no scaling)"), (math.sqrt(cfg["d_model"] // cfg["n_heads"]), "sqrt(d_model // n_heads)")]:
        alt = (raw / scale).masked_fill(future, float("-inf")).softmax(-1)
        if torch.allclose(actual, alt, rtol=1e-4, atol=1e-5):
            fail(f"the attention pattern matches scores divided by {what}; divide the scores by sqrt(d_head) "
                 f"= sqrt({cfg['d_head']})")


def test_attention_pattern(submission, ref, device):
    cfg, bridge, _ = ref
    attn, weights = loaded_attention(submission, ref)
    for label, x in inputs(cfg):
        name = f"attention_pattern({label})"
        pattern = attn.attention_pattern(x)
        with torch.no_grad():
            _, expected = bridge.blocks[0].attn(x)
        if not isinstance(pattern, torch.Tensor) or pattern.shape != expected.shape:
            assert_close(pattern, expected, name=name, device=device)  # says what is wrong with the shape
        seq = x.shape[1]
        future = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)
        above = pattern[..., future]
        if torch.isinf(above).any() or torch.isnan(pattern).any():
            fail(f"{name} has -inf/NaN entries for future keys: the mask was applied to the pattern after the "
                 "softmax; mask the scores (set future keys to -inf), then take the softmax")
        if (above.abs() > 1e-6).any():
            fail(f"{name}: queries attend to later positions (entries above the diagonal are not 0); "
                 "apply the causal mask to the scores before the softmax")
        sums = pattern.sum(-1)
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
            worst = (sums - 1).abs().max().item()
            fail(f"{name}: rows do not sum to 1 (off by up to {worst:.3g}); the pattern must be a softmax over "
                 "the key dimension (the last one) of the masked scores: mask first, softmax last, and "
                 "do not change the pattern after the softmax")
        try:
            assert_close(pattern, expected, name=name, device=device)
        except AssertionError:
            _scale_diagnosis(pattern, x, weights, cfg)
            raise


def test_attention_output(submission, ref, device):
    cfg, bridge, _ = ref
    attn, _ = loaded_attention(submission, ref)
    for label, x in inputs(cfg):
        with torch.no_grad():
            expected, _ = bridge.blocks[0].attn(x)
        assert_close(attn(x), expected, name=f"Attention({label})", device=device)


def test_attention_is_causal(submission, ref):
    """Changing later positions must not change the output at earlier ones."""
    cfg, _, _ = ref
    attn, _ = loaded_attention(submission, ref)
    x = randn(50, 2, 8, cfg["d_model"])
    y = x.clone()
    y[:, 5:] = randn(51, 2, 3, cfg["d_model"])
    a, b = attn(x), attn(y)
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape:
        if not torch.allclose(a[:, :5], b[:, :5], rtol=1e-4, atol=1e-5):
            fail("Attention(x): the output at positions 0-4 changed when only positions 5-7 of x changed; "
                 "a position may only attend to itself and earlier positions (the causal mask)")
