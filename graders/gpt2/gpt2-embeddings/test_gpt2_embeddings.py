"""Grader for gpt2-embeddings: Embed, PosEmbed and Unembed, each loaded with the weights of
TransformerLens 4's native model (seeded random weights) and compared with its own components."""

import pytest
import torch

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.gpt2_grading import build, load_weights, randn, reference_for, tokens
from mi_exercise.models.gpt2_reference import component, positions


@pytest.fixture
def ref(options):
    return reference_for(bool(options.get("full")))


def token_batches(cfg):
    v, n = cfg["d_vocab"], cfg["n_ctx"]
    yield "tokens [1, 1]", tokens(0, 1, 1, v)
    yield "tokens [2, 7]", tokens(1, 2, 7, v)
    yield f"tokens [3, {n}] (a full context)", tokens(2, 3, n, v)
    yield "tokens [2, 5] (a non-contiguous view)", tokens(3, 5, 4, v).t()[:2]


def test_embed(submission, ref, device):
    cfg, bridge, sd = ref
    embed = build(submission, "Embed", cfg)
    load_weights(embed, component(sd, "embed"), "Embed")
    for label, t in token_batches(cfg):
        with torch.no_grad():
            expected = bridge.embed(t)
        actual = embed(t)
        if isinstance(actual, torch.Tensor) and actual.shape == expected.shape:
            ratio = (actual.norm() / expected.norm()).item()
            if abs(ratio - cfg["d_model"] ** 0.5) < 1e-3 * ratio:
                fail(f"Embed({label}) is sqrt(d_model) times too large: GPT-2 does not scale its token embeddings; "
                     "return the rows of W_E as they are")
        assert_close(actual, expected, name=f"Embed({label})", device=device)


def test_pos_embed(submission, ref, device):
    cfg, bridge, sd = ref
    pos = build(submission, "PosEmbed", cfg)
    load_weights(pos, component(sd, "pos_embed"), "PosEmbed")
    # The same positions with other token ids must give the same output.
    a = tokens(10, 2, 6, min(cfg["d_vocab"], cfg["n_ctx"]))
    b = (a + 3) % min(cfg["d_vocab"], cfg["n_ctx"])
    out_a, out_b = pos(a), pos(b)
    if isinstance(out_a, torch.Tensor) and isinstance(out_b, torch.Tensor) and out_a.shape == out_b.shape \
            and not torch.allclose(out_a, out_b):
        fail("PosEmbed(tokens) changed when only the token ids changed: index W_pos by position "
             "(0, 1, ..., seq - 1), not by the token ids")
    W_pos = sd["pos_embed.W_pos"]
    for label, t in token_batches(cfg):
        with torch.no_grad():
            expected = bridge.pos_embed(positions(t))
        actual = pos(t)
        seq = t.shape[1]
        if isinstance(actual, torch.Tensor) and actual.shape == expected.shape and seq < cfg["n_ctx"] \
                and torch.allclose(actual, W_pos[1:seq + 1].expand_as(actual)):
            fail(f"PosEmbed({label}) uses rows 1..{seq} of W_pos; position p uses row p, starting at row 0")
        assert_close(actual, expected, name=f"PosEmbed({label})", device=device)


def test_unembed(submission, ref, device):
    cfg, bridge, sd = ref
    unembed = build(submission, "Unembed", cfg)
    weights = component(sd, "unembed")
    load_weights(unembed, weights, "Unembed")
    d = cfg["d_model"]
    for label, x in [("x [1, 1, d_model]", randn(20, 1, 1, d)), ("x [2, 6, d_model]", randn(21, 2, 6, d)),
                     ("x [3, 4, d_model] (a non-contiguous view)", randn(22, 3, d, 4).transpose(1, 2))]:
        with torch.no_grad():
            expected = bridge.unembed(x)
        actual = unembed(x)
        if isinstance(actual, torch.Tensor) and actual.shape == expected.shape \
                and torch.allclose(actual, expected - weights["b_U"], rtol=1e-4, atol=1e-5):
            fail(f"Unembed({label}) is missing the bias: add b_U to x @ W_U")
        assert_close(actual, expected, name=f"Unembed({label})", device=device)


def test_initialisation(submission, ref):
    """A fresh module (before load_state_dict) has GPT-2's initial weights: std init_range, bias 0."""
    cfg, _, _ = ref
    cfg = dict(cfg, init_range=0.05)
    for cls, name in [("Embed", "W_E"), ("PosEmbed", "W_pos"), ("Unembed", "W_U")]:
        w = build(submission, cls, cfg).get(name)
        if not isinstance(w, torch.Tensor):
            fail(f"{cls}(cfg).{name} should be a tensor (an nn.Parameter)")
        std = w.float().std().item()
        if not 0.8 * 0.05 < std < 1.2 * 0.05:
            fail(f"a fresh {cls}(cfg).{name} has standard deviation {std:.4g}; initialise it with "
                 f"nn.init.normal_(..., std=cfg['init_range']) (here init_range = 0.05)")
    b = build(submission, "Unembed", cfg).get("b_U")
    assert_close(b, torch.zeros(cfg["d_vocab"]), name="a fresh Unembed(cfg).b_U")
