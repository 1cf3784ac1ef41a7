"""The shipped tiny GPT-2: complete, loadable, and actually trained on its shipped text."""

import json
import math

import torch

from mi_exercise.models.gpt2_tiny import WEIGHTS_DIR, load_corpus, load_tiny, tiny_bridge


def test_tokenizer_round_trip():
    _, _, tok = load_tiny()
    text = "the small cat sat on the warm mat."
    assert tok.decode(tok.encode(text)) == text
    assert tok.encode("zebra")[0] == tok.unk_id


def test_weights_are_small_and_trained():
    cfg, sd, tok = load_tiny()
    assert sum(p.stat().st_size for p in WEIGHTS_DIR.iterdir()) < 5 * 2**20
    assert cfg["d_vocab"] == len(tok) and sd["embed.W_E"].shape == (len(tok), cfg["d_model"])
    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.runner.plugin import load_reference

    ex = load_catalog().get("gpt2-model")
    sol = load_reference(ex.solution_path, ex)  # with the reference parts it imports
    model = sol.GPT2(cfg).eval()
    model.load_state_dict(sd)
    ids = []
    for line in load_corpus()[-300:]:
        ids += tok.encode(line) + [tok.eos_id]
    chunk = torch.tensor(ids[: cfg["n_ctx"] * 8 + 1])
    x = torch.stack([chunk[i * cfg["n_ctx"]:(i + 1) * cfg["n_ctx"]] for i in range(8)])
    y = torch.stack([chunk[i * cfg["n_ctx"] + 1:(i + 1) * cfg["n_ctx"] + 1] for i in range(8)])
    with torch.no_grad():
        loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, len(tok)), y.reshape(-1)).item()
        torch.testing.assert_close(model(x[:2]), tiny_bridge(cfg, sd)(x[:2]), rtol=1e-4, atol=2e-4)
    recorded = json.loads((WEIGHTS_DIR / "config.json").read_text())["training"]["val_loss"]
    assert loss < 2.2 < math.log(len(tok)), (loss, recorded)
