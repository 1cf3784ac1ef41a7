"""The circuits chapter's two shipped models (attn-only-circuits, 2 layers; attn-only-circuits-3l,
3 layers, another seed) still have the heads their configs name, clear at the chapter's lengths,
load through TransformerLens 4's TransformerBridge like the TransformerLens chapter's model, and
the numpy copy of their circuits the site draws with equals the chapter's reference solutions."""

import numpy as np
import pytest
import torch

from mi_exercise.models import circuits_numpy, induction
from tests.conftest import SOLUTIONS, solution_module

MODELS = ["attn-only-circuits", "attn-only-circuits-3l"]
CHAPTER_LENGTHS = [40, 45]  # [BOS] + seq + seq: 81 and 91 positions (n_ctx 96)


@pytest.fixture(scope="module", params=MODELS)
def name(request):
    return request.param


@pytest.fixture(scope="module")
def model(name):
    return induction.load_shipped_model(name)


def reference(slug: str):
    return solution_module("circuits", slug)


def test_config_names_heads_in_order(name):
    info = induction.model_info(name)
    cfg = info["model_config"]
    assert cfg["n_ctx"] >= 1 + 2 * max(CHAPTER_LENGTHS) and cfg["normalization_type"] == "LNPre"
    assert info["induction_heads"] and info["previous_token_heads"]
    for layer, head in info["induction_heads"] + info["previous_token_heads"]:
        assert 0 <= layer < cfg["n_layers"] and 0 <= head < cfg["n_heads"]
    assert min(l for l, _ in info["induction_heads"]) > min(l for l, _ in info["previous_token_heads"])


def test_weights_are_small(name):
    assert induction.weights_file(name).stat().st_size <= 300 * 1024


def test_the_two_models_differ_in_layout():
    a, b = (induction.model_info(n) for n in MODELS)
    assert a["model_config"]["n_layers"] != b["model_config"]["n_layers"]
    assert a["training"]["seed"] != b["training"]["seed"]


def test_loads_by_name_through_the_bridge(name, model):
    assert induction.load_model(name).cfg.n_layers == model.cfg.n_layers
    assert induction.load_circuits_model(name=name).cfg.n_ctx == model.cfg.n_ctx
    tokens = induction.repeated_tokens(40, batch=2, seed=3)
    logits, cache = model.run_with_cache(tokens)
    assert logits.shape == (2, 81, 128)
    for layer in range(model.cfg.n_layers):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"]
        assert pattern.shape == (2, model.cfg.n_heads, 81, 81)
        torch.testing.assert_close(pattern.sum(-1), torch.ones(2, model.cfg.n_heads, 81))
    layer, head = induction.induction_heads(name)[0]

    def ablate(z, hook):
        z = z.clone()
        z[:, :, head] = 0.0
        return z

    hooked = model.run_with_hooks(tokens, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", ablate)])
    assert not torch.allclose(hooked, logits)
    with pytest.raises(ValueError, match="not a circuits model"):
        induction.load_circuits_model(name="attn-only-induction")


@pytest.mark.parametrize("seq_len", CHAPTER_LENGTHS)
def test_heads_are_clear_at_the_chapters_lengths(name, model, seq_len):
    """Chapter 2's model's previous-token heads fade past ~30 positions (0.88 at seq_len 10, 0.44 at
    30); these must stay clear at the lengths the circuits chapter uses."""
    scores = induction.head_scores(model, seq_len=seq_len, batch=16, seed=7)
    prev, ind = scores["previous_token"], scores["induction"]
    known_prev, known_ind = induction.previous_token_heads(name), induction.induction_heads(name)
    prev_scores = [prev[l][h] for l, h in known_prev]
    ind_scores = [ind[l][h] for l, h in known_ind]
    assert min(prev_scores) >= 0.7, f"{name} previous-token heads {known_prev} at seq_len {seq_len}: {prev_scores}"
    assert min(ind_scores) >= 0.5, f"{name} induction heads {known_ind} at seq_len {seq_len}: {ind_scores}"
    others_prev = [prev[l][h] for l in range(len(prev)) for h in range(len(prev[l])) if (l, h) not in known_prev]
    others_ind = [ind[l][h] for l in range(len(ind)) for h in range(len(ind[l])) if (l, h) not in known_ind]
    assert max(others_prev) < 0.4 and max(others_ind) < 0.4, (others_prev, others_ind)
    loss = induction.per_token_loss(model, induction.repeated_tokens(seq_len, batch=8, seed=11))
    assert loss[:, seq_len:].mean() < 0.25 * loss[:, :seq_len].mean()


def test_previous_token_heads_show_in_the_positional_circuit(name):
    """What qk-ov-circuits teaches: from the weights alone, the positional pattern (LayerNorm'd W_pos
    through W_Q W_Kᵀ) of a previous-token head puts most of its weight one position back, out to
    position 80, and more than any other layer-0 head does."""
    known = induction.previous_token_heads(name)
    back = [np.diagonal(circuits_numpy.positional_pattern(name, 0, head, 81), -1).mean()
            for head in range(circuits_numpy.config(name)["n_heads"])]
    for layer, head in known:
        assert layer == 0 and back[head] > 0.8, f"{name} head 0.{head}: {back[head]:.2f} one position back"
    others = [b for h, b in enumerate(back) if (0, h) not in known]
    assert min(back[h] for _, h in known) > max(others) + 0.3, back


def test_induction_heads_copy(name):
    """What copying-scores teaches: every induction head's OV circuit copies (score above 0.7)."""
    scores = circuits_numpy.copying_scores(name)
    for layer, head in induction.induction_heads(name):
        assert scores[layer, head] > 0.7, f"{name} induction head {layer}.{head} copying score {scores[layer, head]:.2f}"


def test_numpy_circuits_match_the_bridge_and_the_references(name, model):
    cn = circuits_numpy
    qk_ov, copying = reference("qk-ov-circuits"), reference("copying-scores")
    torch.testing.assert_close(torch.from_numpy(cn.W_E(name)).float(), model.W_E.detach())
    torch.testing.assert_close(torch.from_numpy(cn.W_pos(name)).float(), model.W_pos.detach())
    torch.testing.assert_close(torch.from_numpy(cn.W_U(name)).float(), model.W_U.detach())
    for layer in range(model.cfg.n_layers):
        for mine, theirs in ((cn.W_Q, model.W_Q), (cn.W_K, model.W_K), (cn.W_V, model.W_V), (cn.W_O, model.W_O)):
            torch.testing.assert_close(torch.from_numpy(mine(name, layer)).float(), theirs[layer].detach())
        torch.testing.assert_close(torch.from_numpy(cn.full_qk(name, layer)).float(), qk_ov.full_qk_circuit(model, layer).AB,
                                   rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(torch.from_numpy(cn.full_ov(name, layer)).float(), qk_ov.full_ov_circuit(model, layer).AB,
                                   rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(torch.from_numpy(cn.positional_pattern(name, layer, 1, 40)).float(),
                                   qk_ov.positional_pattern(model, layer, 1, 40), rtol=1e-4, atol=1e-5)
        ov = qk_ov.full_ov_circuit(model, layer)
        for head in range(model.cfg.n_heads):
            from transformer_lens import FactoredMatrix

            acc = qk_ov.top_k_copying_accuracy(FactoredMatrix(ov.A[head], ov.B[head]), 5)
            assert abs(acc - cn.top_k_accuracy(name, layer, 5)[head]) < 1e-9
    torch.testing.assert_close(torch.from_numpy(cn.copying_scores(name)).float(),
                               copying.copying_score(copying.ov_eigenvalues(model)), rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_copying_scores_check_with_model_gpt2(tmp_path_factory):
    """`mi-exercise check copying-scores --model gpt2` on a small random GPT-2 put into a Hugging Face
    cache of its own under the name 'gpt2' (GPT-2 small cannot be downloaded here): the reference
    solution passes every test, the GPT-2 one included (it ran: the eigenvalues of its 96 heads were
    compared), and a mutant fails it; without the weights the test is not run, saying how to get them."""
    from tests.test_gpt2_loading import run_checks, write_fake_gpt2_cache

    home = write_fake_gpt2_cache(tmp_path_factory.mktemp("hf-home"))
    gpt2_test = "test_copying_scores_of_a_trained_model"
    grader = SOLUTIONS / "circuits" / "copying-scores"
    mutants = {}
    for stem in ("abs_on_top", "residual_ov_only"):  # a mutant overrides the solution's definitions
        path = tmp_path_factory.mktemp(stem) / "copying_scores.py"
        path.write_text((grader / "solution.py").read_text() + "\n" + (grader / "mutants" / f"{stem}.py").read_text())
        mutants[stem] = str(path)
    results = run_checks(home, [["solution", "copying-scores", "solution"],
                                ["abs on top", "copying-scores", mutants["abs_on_top"]],
                                ["residual only", "copying-scores", mutants["residual_ov_only"]]])
    assert all(o == "passed" for o, _ in results["solution"].values()), results["solution"]
    outcome, message = results["residual only"][gpt2_test]
    assert outcome == "failed" and message.startswith("ov_eigenvalues(GPT-2 small)"), message
    outcome, message = results["abs on top"][gpt2_test]
    assert outcome == "failed" and "copying_heads(GPT-2 small, 0.7)" in message, message
    empty = tmp_path_factory.mktemp("no-gpt2")
    (empty / "hub").mkdir()
    outcome, message = run_checks(empty, [["solution", "copying-scores", "solution"]])["solution"][gpt2_test]
    assert outcome == "not run" and "from_pretrained('gpt2')" in message, message
