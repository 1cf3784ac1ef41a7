"""The gpt2 chapter's reference: TransformerLens's native model, its weights mapped to the learner's
layout and back, agrees with the plain-PyTorch reference solution."""


import pytest
import torch

from mi_exercise.catalog.loader import load_catalog
from mi_exercise.models import gpt2_reference
from mi_exercise.runner.plugin import load_reference



def solution(slug: str):
    """The reference solution, with the reference parts it imports registered first (as graders see it)."""
    ex = load_catalog().get(slug)
    return load_reference(ex.solution_path, ex)


@pytest.fixture(scope="module")
def reduced():
    cfg = gpt2_reference.config()
    bridge = gpt2_reference.boot_reference(cfg, seed=3)
    return cfg, bridge, gpt2_reference.learner_state_dict(bridge)


def test_config_shapes():
    assert gpt2_reference.config(True)["d_model"] == 768
    assert gpt2_reference.config(True)["n_layers"] == 12
    with pytest.raises(ValueError, match="unknown config keys"):
        gpt2_reference.config(d_modle=3)


def test_mapping_by_name_matches_transformerlens_weights(reduced):
    cfg, bridge, sd = reduced
    via_properties = gpt2_reference.learner_state_dict_from_bridge_weights(bridge)
    assert sd.keys() == via_properties.keys()
    for k in sd:
        torch.testing.assert_close(sd[k], via_properties[k], msg=k)
    assert sd["blocks.0.attn.W_Q"].shape == (cfg["n_heads"], cfg["d_model"], cfg["d_head"])
    assert sd["blocks.0.attn.W_O"].shape == (cfg["n_heads"], cfg["d_head"], cfg["d_model"])


def test_seeded_and_randomized():
    a = gpt2_reference.learner_state_dict(gpt2_reference.boot_reference(seed=1))
    b = gpt2_reference.learner_state_dict(gpt2_reference.boot_reference(seed=1))
    c = gpt2_reference.learner_state_dict(gpt2_reference.boot_reference(seed=2))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["embed.W_E"], c["embed.W_E"])
    # biases and LayerNorm scales are random too, so a forgotten bias is visible
    assert a["unembed.b_U"].abs().min() > 0 and a["blocks.0.attn.b_O"].abs().min() > 0
    assert not torch.allclose(a["ln_final.w"], torch.ones_like(a["ln_final.w"]))


def test_solution_model_equals_bridge(reduced):
    cfg, bridge, sd = reduced
    model = solution("gpt2-model").GPT2(cfg)
    model.load_state_dict(sd)
    tokens = torch.randint(0, cfg["d_vocab"], (2, cfg["n_ctx"]), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model(tokens), bridge(tokens), rtol=1e-4, atol=1e-5)


def test_load_learner_state_dict_round_trip(reduced):
    cfg, bridge, sd = reduced
    other = gpt2_reference.boot_reference(cfg, seed=9)
    gpt2_reference.load_learner_state_dict(other, sd)
    back = gpt2_reference.learner_state_dict(other)
    assert all(torch.equal(back[k], sd[k]) for k in sd)
    tokens = torch.randint(0, cfg["d_vocab"], (1, 7), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(other(tokens), bridge(tokens))
