"""The shipped attention-only model still has the heads its config names, and loads through
TransformerLens 4's TransformerBridge with caches and hooks working."""

import numpy as np
import pytest
import torch

from mi_exercise.models import induction


@pytest.fixture(scope="module")
def model():
    return induction.load_induction_model()


@pytest.fixture(scope="module")
def scores(model):
    return induction.head_scores(model, seq_len=25, batch=16, seed=7)


def test_config_names_heads():
    info = induction.model_info()
    cfg = info["model_config"]
    assert info["induction_heads"], "config.json lists no induction head"
    assert info["previous_token_heads"], "config.json lists no previous-token head"
    for layer, head in info["induction_heads"] + info["previous_token_heads"]:
        assert 0 <= layer < cfg["n_layers"] and 0 <= head < cfg["n_heads"]
    # an induction head reads a previous-token head's output, so it sits in a later layer
    assert min(l for l, _ in info["induction_heads"]) > min(l for l, _ in info["previous_token_heads"])


def test_weights_are_small():
    assert induction.WEIGHTS_FILE.stat().st_size < 5 * 2**20


def test_bridge_cache_and_hook_names(model):
    tokens = induction.repeated_tokens(10, batch=2, seed=3)
    logits, cache = model.run_with_cache(tokens)
    cfg = model.cfg
    assert logits.shape == (2, 21, cfg.d_vocab)
    for layer in range(cfg.n_layers):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"]
        assert pattern.shape == (2, cfg.n_heads, 21, 21)
        torch.testing.assert_close(pattern.sum(-1), torch.ones(2, cfg.n_heads, 21))
        assert torch.all(pattern.triu(1) == 0), "attention must be causal"
        assert cache[f"blocks.{layer}.attn.hook_q"].shape == (2, 21, cfg.n_heads, cfg.d_head)


def test_run_with_hooks_changes_output(model):
    tokens = induction.repeated_tokens(12, batch=1, seed=4)
    clean = model(tokens)
    layer, head = induction.induction_heads()[0]
    seen = []

    def ablate(pattern, hook):
        seen.append(hook.name)
        pattern = pattern.clone()
        pattern[:, head] = 0.0
        return pattern

    hooked = model.run_with_hooks(tokens, fwd_hooks=[(f"blocks.{layer}.attn.hook_pattern", ablate)])
    assert seen == [f"blocks.{layer}.attn.hook_pattern"]
    assert not torch.allclose(clean, hooked), "a hook that zeroes an induction head's pattern must change the logits"
    torch.testing.assert_close(model(tokens), clean)  # hooks are gone afterwards


def test_induction_heads_stand_out(scores):
    known = set(induction.induction_heads())
    ind = scores["induction"]
    known_scores = [ind[l][h] for l, h in known]
    others = [ind[l][h] for l in range(len(ind)) for h in range(len(ind[l])) if (l, h) not in known]
    assert min(known_scores) > 0.4, f"induction heads {sorted(known)} scored {known_scores}"
    assert min(known_scores) > 3 * max(others), f"known {known_scores} vs others {others}"


def test_previous_token_heads_stand_out(scores):
    known = set(induction.previous_token_heads())
    prev = scores["previous_token"]
    known_scores = [prev[l][h] for l, h in known]
    layer0_others = [prev[0][h] for h in range(len(prev[0])) if (0, h) not in known]
    assert min(known_scores) > 0.4, f"previous-token heads {sorted(known)} scored {known_scores}"
    assert not layer0_others or min(known_scores) > 2 * max(layer0_others)


def test_repeated_half_is_predicted(model):
    seq_len = 25
    tokens = induction.repeated_tokens(seq_len, batch=8, seed=11)
    loss = induction.per_token_loss(model, tokens)  # [8, 50]
    first = loss[:, :seq_len].mean().item()
    second = loss[:, seq_len:].mean().item()
    assert first > 3.5, f"the first half is random; its loss {first:.2f} should be near ln(127)"
    assert second < 0.25 * first, f"repeated half loss {second:.2f} vs first half {first:.2f}"


def test_figure_data_shapes(model):
    data = induction.figure_data(seq_len=8, seed=0, model=model)
    T = 17
    assert len(data["tokens"]) == T
    assert len(data["per_token_loss"]) == T - 1
    assert len(data["patterns"]) == model.cfg.n_layers
    assert len(data["patterns"][0]) == model.cfg.n_heads
    assert len(data["patterns"][0][0]) == T and len(data["patterns"][0][0][0]) == T


def test_repeated_tokens_shape_and_bos():
    toks = induction.repeated_tokens(5, batch=3, seed=0)
    assert toks.shape == (3, 11) and toks.dtype == torch.long
    assert torch.all(toks[:, 0] == induction.bos_token())
    assert torch.all(toks[:, 1:6] == toks[:, 6:])
    assert torch.all(toks[:, 1:] != induction.bos_token())
    assert torch.equal(toks, induction.repeated_tokens(5, batch=3, seed=0))
    with pytest.raises(ValueError):
        induction.repeated_tokens(0)


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model"):
        induction.load_model("gpt3")


def test_numpy_forward_matches_the_bridge(model):
    """The site's pictures run the shipped model in numpy (no torch or TransformerLens import): the
    same logits, patterns and per-token losses as the TransformerBridge."""
    from mi_exercise.models import induction_numpy

    assert induction_numpy.WEIGHTS_FILE == induction.WEIGHTS_FILE and induction_numpy.CONFIG_FILE == induction.CONFIG_FILE
    tokens = induction.repeated_tokens(15, batch=3, seed=8)
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
    np_logits, np_patterns = induction_numpy.forward(tokens.numpy())
    torch.testing.assert_close(torch.from_numpy(np_logits).float(), logits, rtol=1e-4, atol=1e-4)
    assert len(np_patterns) == model.cfg.n_layers
    for layer, p in enumerate(np_patterns):
        torch.testing.assert_close(torch.from_numpy(p).float(), cache[f"blocks.{layer}.attn.hook_pattern"], rtol=1e-4, atol=1e-5)
    loss = induction_numpy.per_token_loss(np_logits, tokens.numpy())
    torch.testing.assert_close(torch.from_numpy(loss).float(), induction.per_token_loss(model, tokens), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="n_ctx"):
        induction_numpy.forward(induction.repeated_tokens(40, seed=0).numpy())


def test_numpy_figure_data_and_scores():
    from mi_exercise.models import induction_numpy

    data = induction_numpy.figure_data(seq_len=8, seed=0, batch=3)
    T = 17
    assert len(data["tokens"]) == T and data["tokens"][0] == induction.bos_token()
    assert data["tokens"][1:9] == data["tokens"][9:]
    assert len(data["per_token_loss"]) == T - 1 and len(data["mean_per_token_loss"]) == T - 1
    assert len(data["patterns"]) == 2 and len(data["patterns"][1]) == 4 and len(data["patterns"][1][3]) == T
    data["patterns"][0][0][0][0] = 123.0  # each call returns a fresh copy of the cached data
    assert induction_numpy.figure_data(seq_len=8, seed=0, batch=3)["patterns"][0][0][0][0] != 123.0
    # the reference definitions of the scores name the shipped config's heads
    scores = data["head_scores"]
    found = {kind: [[l, h] for l, row in enumerate(s) for h, v in enumerate(row) if v > 0.4] for kind, s in scores.items()}
    assert found["induction"] == [list(h) for h in induction.induction_heads()]
    assert found["previous_token"] == [list(h) for h in induction.previous_token_heads()]


def reference(slug: str):
    """A TransformerLens-chapter exercise's reference solution (graders/transformerlens/<slug>/solution.py)."""
    from tests.conftest import solution_module

    return solution_module("transformerlens", slug)


def test_numpy_repeated_tokens_are_the_torch_tokens():
    """The site draws its sequences in numpy; they are the sequences the graders and the torch helpers draw."""
    from mi_exercise.models import induction_numpy

    for seq_len, batch, seed in [(20, 1, 0), (25, 16, 0), (30, 16, 1234), (5, 3, 2**32 - 1)]:
        tokens = induction_numpy.repeated_tokens(seq_len, batch, seed)
        assert tokens.dtype.name == "int64"
        assert torch.equal(torch.from_numpy(tokens), induction.repeated_tokens(seq_len, batch=batch, seed=seed)), (
            f"repeated_tokens({seq_len}, {batch}, seed={seed}) differs between numpy and torch")
    for bad in (-1, 2**32):
        with pytest.raises(ValueError, match="seed"):
            induction_numpy.repeated_tokens(5, seed=bad)


def test_numpy_cache_and_weights_match_the_bridge(model):
    from mi_exercise.models import induction_numpy

    tokens = induction.repeated_tokens(12, batch=2, seed=5)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    _, np_cache = induction_numpy.run_with_cache(tokens.numpy())
    names = ["hook_embed", "hook_pos_embed", "ln_final.hook_scale",
             *(f"blocks.{layer}.attn.hook_z" for layer in range(model.cfg.n_layers))]
    for name in names:
        torch.testing.assert_close(torch.from_numpy(np.ascontiguousarray(np_cache[name])), cache[name],
                                   rtol=1e-4, atol=1e-5, msg=lambda m, name=name: f"{name}: {m}")
    for layer in range(model.cfg.n_layers):
        torch.testing.assert_close(torch.from_numpy(induction_numpy.W_O(layer)), model.W_O[layer].detach())
        outs = induction_numpy.head_outputs(np_cache[f"blocks.{layer}.attn.hook_z"], layer)
        assert outs.shape == (2, 25, model.cfg.n_heads, model.cfg.d_model)
    torch.testing.assert_close(torch.from_numpy(induction_numpy.W_U()), model.W_U.detach())


def test_numpy_logit_attribution_matches_the_reference(model):
    """The logit-attribution page's matrix, on the page's own sequence: the numpy model's against the
    exercise's reference solution on the TransformerBridge."""
    from mi_exercise.models import induction_numpy

    ref = reference("logit-attribution")
    seq_len = 20
    tokens = induction.repeated_tokens(seq_len, batch=1, seed=0)
    with torch.no_grad():
        components, scale = ref.residual_components(model, tokens)
        expected = ref.logit_attribution(components, scale, model.ln_final.w, model.W_U, tokens)
    np_components, np_scale = induction_numpy.residual_components(tokens.numpy())
    torch.testing.assert_close(torch.from_numpy(np_components), components, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.from_numpy(np_scale), scale, rtol=1e-4, atol=1e-6)
    attribution = induction_numpy.logit_attribution(tokens.numpy())
    assert attribution.shape == (1, 2 * seq_len, 2 + model.cfg.n_layers * model.cfg.n_heads + 1)
    torch.testing.assert_close(torch.from_numpy(attribution), expected, rtol=1e-4, atol=1e-4)
    assert induction_numpy.component_labels() == ref.component_labels(model.cfg.n_layers, model.cfg.n_heads)
    # the components sum to the final residual stream, so their attributions add up to the correct
    # token's logit less what ln_final's bias and the unembedding's bias add to it
    logits, _ = induction_numpy.forward(tokens.numpy())
    target = tokens[0, 1:].numpy()
    w = induction_numpy.weights()
    biases = w["ln_final.bias"] @ induction_numpy.W_U()[:, target] + w["unembed.bias"][target]
    np.testing.assert_allclose(attribution[0].sum(-1), logits[0, np.arange(2 * seq_len), target] - biases,
                               rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_numpy_head_ablation_matches_the_reference(model, ablation):
    """The head-ablation page's numbers, on the page's own batch: the loss increase of ablating each
    head alone and the induction heads together, and the ablated logits, against the exercise's
    reference solution on the TransformerBridge."""
    from mi_exercise.models import induction_numpy

    ref = reference("head-ablation")
    seq_len = 25
    tokens = induction.repeated_tokens(seq_len, batch=16, seed=0)
    np_tokens = tokens.numpy()
    expected = ref.loss_increase_per_head(model, tokens, seq_len, ablation)
    per_head = induction_numpy.loss_increase_per_head(np_tokens, seq_len, ablation)
    torch.testing.assert_close(torch.from_numpy(per_head).float(), expected, rtol=1e-4, atol=1e-4)
    assert per_head.max() > 0.3, f"{ablation}-ablating a single head should cost something: {per_head}"
    heads = [list(h) for h in induction.induction_heads()]
    together = induction_numpy.half_loss_increase(np_tokens, seq_len, heads, ablation)
    torch.testing.assert_close(torch.tensor(together), torch.tensor(ref.half_loss_increase(model, tokens, seq_len, heads, ablation)),
                               rtol=1e-4, atol=1e-4)
    ref_means = ref.mean_activations(model, tokens) if ablation == "mean" else None
    means = induction_numpy.mean_z(np_tokens) if ablation == "mean" else None
    if ablation == "mean":
        torch.testing.assert_close(torch.from_numpy(means), ref_means, rtol=1e-4, atol=1e-5)
    one = tokens[:1]
    torch.testing.assert_close(torch.from_numpy(induction_numpy.ablated_logits(one.numpy(), heads, means)),
                               ref.run_with_ablation(model, one, heads, ref_means), rtol=1e-4, atol=1e-4)


def test_numpy_ablation_rejects_bad_input():
    from mi_exercise.models import induction_numpy

    tokens = induction_numpy.repeated_tokens(4, seed=0)
    with pytest.raises(ValueError, match="ablation must be 'zero' or 'mean'"):
        induction_numpy.loss_increase_per_head(tokens, 4, "resample")
    with pytest.raises(ValueError, match="no head 2.0"):
        induction_numpy.ablated_logits(tokens, [[2, 0]])
    with pytest.raises(ValueError, match=r"\[16\] vector"):
        induction_numpy.run_with_cache(tokens, {(1, 0): np.zeros(3)})
    with pytest.raises(ValueError, match=r"\[batch, positions\]"):
        induction_numpy.forward(tokens[0])
