"""Grader for gpt2-mlp-and-block: GPT-2's GELU, the MLP and the pre-LayerNorm transformer block,
compared with TransformerLens 4's native model (seeded random weights) loaded into the learner's
modules."""

import math

import pytest
import torch

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.gpt2_grading import build, load_weights, parameter_names, randn, reference_for
from mi_exercise.models.gpt2_reference import component


@pytest.fixture
def ref(options):
    return reference_for(bool(options.get("full")))


def test_gelu_new(submission, device):
    for label, x in [("x [1000] in [-6, 6]", torch.linspace(-6, 6, 1000)), ("x [3, 17]", randn(60, 3, 17) * 3),
                     ("x [4, 5] (a non-contiguous view)", randn(61, 5, 4).t())]:
        actual = submission.gelu_new(x)
        expected = torch.nn.functional.gelu(x, approximate="tanh")
        if isinstance(actual, torch.Tensor) and actual.shape == x.shape:
            exact = torch.nn.functional.gelu(x)
            if torch.allclose(actual, exact, rtol=1e-5, atol=1e-6) and not torch.allclose(exact, expected, rtol=1e-5, atol=1e-6):
                fail(f"gelu_new({label}) is the exact GELU, x * Phi(x) with erf; GPT-2 uses the tanh approximation "
                     "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))")
        assert_close(actual, expected, name=f"gelu_new({label})", device=device)


def test_mlp(submission, ref, device):
    cfg, bridge, sd = ref
    mlp = build(submission, "MLP", cfg)
    load_weights(mlp, component(sd, "blocks.0.mlp"), "MLP")
    d = cfg["d_model"]
    for label, x in [("x [1, 1, d_model]", randn(62, 1, 1, d)), ("x [2, 7, d_model]", randn(63, 2, 7, d)),
                     ("x [3, 4, d_model] (a non-contiguous view)", randn(64, 3, d, 4).transpose(1, 2))]:
        with torch.no_grad():
            expected = bridge.blocks[0].mlp(x)
        actual = mlp(x)
        try:
            assert_close(actual, expected, name=f"MLP({label})", device=device)
        except AssertionError:
            w = component(sd, "blocks.0.mlp")
            exact = torch.nn.functional.gelu(x @ w["W_in"] + w["b_in"]) @ w["W_out"] + w["b_out"]
            if isinstance(actual, torch.Tensor) and actual.shape == exact.shape and torch.allclose(actual, exact, rtol=1e-4, atol=1e-5):
                fail(f"MLP({label}) uses the exact GELU; GPT-2's MLP uses the tanh approximation (your gelu_new)")
            raise


def _block_variants(x, ref):
    """The usual wrong blocks, computed with the reference's own components."""
    _, bridge, _ = ref
    blk = bridge.blocks[0]
    attn = lambda h: blk.attn(h)[0]  # noqa: E731
    with torch.no_grad():
        mid = x + attn(blk.ln1(x))
        no_attn_res = attn(blk.ln1(x))
        post_mid = blk.ln1(x + attn(x))
        return {
            "the residual connection around attention is missing (it should be resid_mid = resid_pre + attn(ln1(resid_pre)))":
                no_attn_res + blk.mlp(blk.ln2(no_attn_res)),
            "the residual connection around the MLP is missing (it should be resid_post = resid_mid + mlp(ln2(resid_mid)))":
                blk.mlp(blk.ln2(mid)),
            "LayerNorm comes after each residual addition (post-LN); GPT-2 normalizes each sublayer's input (pre-LN)":
                blk.ln2(post_mid + blk.mlp(post_mid)),
            "the MLP reads resid_pre; it must read resid_mid, the stream after attention has been added":
                mid + blk.mlp(blk.ln2(x)),
        }


def test_transformer_block(submission, ref, device):
    cfg, bridge, sd = ref
    block = build(submission, "TransformerBlock", cfg)
    load_weights(block, component(sd, "blocks.0"), "TransformerBlock")
    d = cfg["d_model"]
    for label, x in [("resid_pre [1, 1, d_model]", randn(65, 1, 1, d)), ("resid_pre [2, 6, d_model]", randn(66, 2, 6, d)),
                     (f"resid_pre [1, {cfg['n_ctx']}, d_model]", randn(67, 1, cfg["n_ctx"], d)),
                     ("resid_pre [2, 5, d_model] (a non-contiguous view)", randn(68, 2, d, 5).transpose(1, 2))]:
        with torch.no_grad():
            (expected,) = bridge.blocks[0](x)
        actual = block(x)
        try:
            assert_close(actual, expected, name=f"TransformerBlock({label})", device=device)
        except AssertionError:
            if isinstance(actual, torch.Tensor):
                for what, value in _block_variants(x, ref).items():
                    if actual.shape == value.shape and torch.allclose(actual, value, rtol=1e-4, atol=1e-4):
                        fail(f"TransformerBlock({label}) matches a block where {what}")
            raise


def test_block_submodules(submission, ref):
    cfg, _, sd = ref
    block = build(submission, "TransformerBlock", cfg)
    names = parameter_names(block)
    expected = set(component(sd, "blocks.0"))
    if names != expected:
        fail(f"TransformerBlock's parameters should be exactly {sorted(expected)} (submodules ln1, attn, ln2, mlp); "
             f"missing {sorted(expected - names)}, unexpected {sorted(names - expected)}")
