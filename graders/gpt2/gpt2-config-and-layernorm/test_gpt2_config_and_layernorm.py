"""Grader for gpt2-config-and-layernorm: the config dict and LayerNorm.

LayerNorm is compared with TransformerLens 4's native model (TransformerBridge.boot_native,
seeded random weights): the learner's LayerNorm loads the reference's ln1 weights and must give
the same output on the same inputs.
"""

import pytest
import torch

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.gpt2_grading import build, load_weights, randn, reference_for
from mi_exercise.models.gpt2_reference import GPT2_SMALL_CONFIG, component
from mi_exercise.runner.outcomes import LearnerError


@pytest.fixture
def ref(options):
    return reference_for(bool(options.get("full")))


def test_gpt2_small_config(submission):
    cfg = submission.make_config()
    if not isinstance(cfg, dict):
        fail(f"make_config() should return a dict, got {type(cfg).__name__}")
    for key, value in GPT2_SMALL_CONFIG.items():
        if key not in cfg:
            fail(f"make_config() has no key '{key}' (GPT-2 small: {key} = {value})")
        if cfg[key] != value:
            fail(f"make_config()['{key}'] is {cfg[key]!r}; GPT-2 small has {key} = {value!r}")
    extra = sorted(set(cfg) - set(GPT2_SMALL_CONFIG))
    if extra:
        fail(f"make_config() has keys GPT-2's config does not: {extra}")


def test_config_overrides(submission):
    small = submission.make_config(d_model=64, n_heads=4, d_head=16, n_layers=2)
    expected = dict(GPT2_SMALL_CONFIG, d_model=64, n_heads=4, d_head=16, n_layers=2)
    assert_close(small, expected, name="make_config(d_model=64, n_heads=4, d_head=16, n_layers=2)")
    again = submission.make_config()
    if again != GPT2_SMALL_CONFIG:
        changed = sorted(k for k in GPT2_SMALL_CONFIG if again.get(k) != GPT2_SMALL_CONFIG[k])
        fail(f"after make_config(d_model=64, ...), make_config() no longer gives GPT-2 small (changed: {changed}): "
             "copy GPT2_SMALL before applying the overrides instead of changing it")
    try:
        submission.make_config(d_modle=64)
    except LearnerError as exc:
        if not exc.message.startswith("ValueError"):
            fail(f"make_config(d_modle=64) should raise ValueError for the unknown key; it raised {exc.message[:200]}")
        return
    fail("make_config(d_modle=64) returned a config; a misspelt key should raise ValueError naming it")


def _diagnose_layernorm(actual, x, w, b, eps):
    """Name the usual LayerNorm slips when the learner's output matches one of them."""
    centered = x - x.mean(-1, keepdim=True)
    variants = {
        "the unbiased variance (dividing by d_model - 1); LayerNorm uses the population variance, unbiased=False":
            centered / torch.sqrt(x.var(-1, keepdim=True, unbiased=True) + eps) * w + b,
        "eps added to the standard deviation; add it to the variance, inside the square root":
            centered / (x.var(-1, keepdim=True, unbiased=False).sqrt() + eps) * w + b,
        "no centring (an RMSNorm); subtract the mean first":
            x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w + b,
    }
    for what, value in variants.items():
        if isinstance(actual, torch.Tensor) and actual.shape == value.shape and torch.allclose(actual, value, rtol=1e-4, atol=1e-5):
            fail(f"LayerNorm(x) matches a LayerNorm with {what}")


def test_layernorm(submission, ref, device):
    cfg, bridge, sd = ref
    ln = build(submission, "LayerNorm", cfg)
    weights = component(sd, "blocks.0.ln1")
    load_weights(ln, weights, "LayerNorm")
    d = cfg["d_model"]
    inputs = [
        ("x [1, 1, d_model]", randn(0, 1, 1, d)),
        ("x [2, 5, d_model]", randn(1, 2, 5, d) * 3 + 2),
        ("x [3, 7, d_model] (a non-contiguous view)", randn(2, 3, d, 7).transpose(1, 2)),
        ("x [2, 4, d_model] with tiny spread (std 1e-3: eps matters)", randn(3, 2, 4, d) * 1e-3 + 5),
    ]
    for label, x in inputs:
        actual = ln(x)
        with torch.no_grad():
            expected = bridge.blocks[0].ln1(x)
        try:
            assert_close(actual, expected, name=f"LayerNorm({label})", device=device)
        except AssertionError:
            _diagnose_layernorm(actual, x, weights["w"], weights["b"], cfg["layer_norm_eps"])
            raise


def test_layernorm_parameters(submission, ref):
    cfg, _, _ = ref
    ln = build(submission, "LayerNorm", cfg)
    x = randn(5, 2, 3, cfg["d_model"]) * 4 - 1
    out = ln(x)  # a fresh LayerNorm: w = 1, b = 0, so each position has mean 0 and variance 1
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        fail(f"LayerNorm(x [2, 3, d_model]) should return a tensor of shape {tuple(x.shape)}")
    assert_close(out.mean(-1), torch.zeros(2, 3), name="mean over d_model of a fresh LayerNorm's output", atol=1e-5)
    assert_close(out.var(-1, unbiased=False), torch.ones(2, 3), name="variance over d_model of a fresh LayerNorm's output",
                 rtol=1e-3, atol=1e-4)
