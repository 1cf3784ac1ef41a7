"""Loading a GPT-2-format Hugging Face checkpoint offline (the `--model gpt2` path), tested on a tiny
checkpoint this test writes itself with save_pretrained; and the clear message when weights are absent."""

import importlib.util
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from mi_exercise.models.gpt2_pretrained import PretrainedUnavailable, load_pretrained  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-gpt2-hf")
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_embd=32, n_head=4, n_layer=2, n_positions=16, vocab_size=53)
    model = transformers.GPT2LMHeadModel(config).eval()
    model.save_pretrained(path)
    return path, model


def test_loads_checkpoint_into_learner_layout(checkpoint):
    path, hf_model = checkpoint
    cfg, sd, bridge = load_pretrained(str(path))
    assert cfg == {"d_model": 32, "n_heads": 4, "d_head": 8, "d_mlp": 128, "n_layers": 2, "n_ctx": 16,
                   "d_vocab": 53, "layer_norm_eps": 1e-5, "init_range": 0.02}
    assert sd["blocks.1.attn.W_Q"].shape == (4, 32, 8)
    assert sd["blocks.1.attn.W_O"].shape == (4, 8, 32)
    assert sd["blocks.0.mlp.W_in"].shape == (32, 128)
    # GPT-2's checkpoints tie the unembedding to the embedding
    torch.testing.assert_close(sd["unembed.W_U"], sd["embed.W_E"].T)
    tokens = torch.randint(0, 53, (2, 11), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = hf_model(tokens).logits
        torch.testing.assert_close(bridge(tokens), expected, rtol=1e-4, atol=1e-5)
    # the learner-format weights in the reference solution's model give Hugging Face's logits
    spec = importlib.util.spec_from_file_location("sol_model", ROOT / "graders" / "gpt2" / "gpt2-model" / "solution.py")
    sol = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sol)
    model = sol.GPT2(cfg)
    model.load_state_dict(sd)
    with torch.no_grad():
        torch.testing.assert_close(model(tokens), expected, rtol=1e-4, atol=1e-5)


def test_absent_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache" / "hub"))
    with pytest.raises(PretrainedUnavailable) as info:
        load_pretrained("gpt2-no-such-model-here")
    message = str(info.value)
    assert "not in the Hugging Face cache" in message and "from_pretrained('gpt2-no-such-model-here')" in message


def test_folder_without_checkpoint(tmp_path):
    with pytest.raises(PretrainedUnavailable, match="no config.json"):
        load_pretrained(str(tmp_path))
