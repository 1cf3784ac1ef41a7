"""The shipped induction model's forward pass in numpy, for the site's pictures.

Building the site must stay fast, and importing torch and TransformerLens costs seconds; the
shipped model is small (2 attention-only layers, d_model 64), so numpy runs it in milliseconds.
tests/test_induction_model.py checks that these logits and patterns equal the TransformerBridge's.

    from mi_exercise.models.induction_numpy import figure_data
    data = figure_data(seq_len=10)     # plain lists: tokens, patterns[layer][head], losses, head scores

Learner code never runs here: everything is the shipped model and the reference definitions of
the scores (the same as mi_exercise.models.induction.head_scores).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

# the same files as mi_exercise.models.induction (which imports torch, so it is not imported here)
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights" / "attn-only-induction"
WEIGHTS_FILE = WEIGHTS_DIR / "model.safetensors"
CONFIG_FILE = WEIGHTS_DIR / "config.json"


class ModelUnavailable(RuntimeError):
    """The shipped model's files are missing."""


@lru_cache(maxsize=1)
def model_info() -> dict:
    if not CONFIG_FILE.is_file():
        raise ModelUnavailable(f"the induction model's config is missing ({CONFIG_FILE}); re-install the package")
    return json.loads(CONFIG_FILE.read_text())


@lru_cache(maxsize=1)
def weights() -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    if not WEIGHTS_FILE.is_file():
        raise ModelUnavailable(f"the induction model's weights are missing ({WEIGHTS_FILE}); re-install the package")
    return load_file(str(WEIGHTS_FILE))


def repeated_tokens(seq_len: int, batch: int = 1, seed: int = 0) -> np.ndarray:
    """int64 [batch, 1 + 2 * seq_len]: BOS, then seq, then seq again; seq uniform over the non-BOS
    tokens (numpy's seeded generator: other draws than the torch version, the same distribution)."""
    if seq_len < 1 or batch < 1:
        raise ValueError(f"seq_len and batch must be at least 1 (got seq_len={seq_len}, batch={batch})")
    info = model_info()
    d_vocab, bos = int(info["model_config"]["d_vocab"]), int(info["bos_token"])
    seq = np.random.default_rng(seed).integers(0, d_vocab - 1, size=(batch, seq_len))
    seq = seq + (seq >= bos)
    return np.concatenate([np.full((batch, 1), bos), seq, seq], axis=1).astype(np.int64)


def forward(tokens) -> tuple[np.ndarray, list[np.ndarray]]:
    """(logits [batch, T, d_vocab], [pattern [batch, n_heads, T, T] per layer]) of the shipped model."""
    tokens = np.asarray(tokens, dtype=np.int64)
    cfg = model_info()["model_config"]
    w = weights()
    n_heads, d_head, eps = cfg["n_heads"], cfg["d_head"], cfg.get("eps", 1e-5)
    batch, T = tokens.shape
    if T > cfg["n_ctx"]:
        raise ValueError(f"{T} positions: the shipped model has n_ctx={cfg['n_ctx']}")

    def ln(x, name):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * w[f"{name}.weight"] + w[f"{name}.bias"]

    def linear(x, name):
        out = x @ w[f"{name}.weight"].T
        return out + w[f"{name}.bias"] if f"{name}.bias" in w else out

    def heads(x):
        return x.reshape(batch, T, n_heads, d_head).transpose(0, 2, 1, 3)

    resid = w["embed.weight"][tokens] + w["pos_embed.weight"][:T]
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    patterns = []
    for layer in range(cfg["n_layers"]):
        x = ln(resid, f"blocks.{layer}.ln1")
        q, k, v = (heads(linear(x, f"blocks.{layer}.attn.{n}")) for n in "qkv")
        scores = np.where(future, -np.inf, q @ k.transpose(0, 1, 3, 2) / np.sqrt(d_head))
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        pattern = scores / scores.sum(-1, keepdims=True)
        patterns.append(pattern)
        z = (pattern @ v).transpose(0, 2, 1, 3).reshape(batch, T, n_heads * d_head)
        resid = resid + linear(z, f"blocks.{layer}.attn.o")
    return linear(ln(resid, "ln_final"), "unembed"), patterns


def per_token_loss(logits: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """[batch, T - 1]: cross-entropy of predicting token i + 1 at position i."""
    logits = logits[:, :-1].astype(np.float64)
    logz = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
    target = np.take_along_axis(logits, tokens[:, 1:, None], axis=-1)[..., 0]
    return logz - target


def head_scores(seq_len: int = 30, batch: int = 16, seed: int = 1234) -> dict:
    """Per-head scores [n_layers][n_heads] on [BOS] + seq + seq: induction (attention seq_len - 1
    back from the second copy's queries), previous_token, current_token and first_token (attention
    to key q - 1, q and 0, over the queries after BOS); the definitions of head_scores in induction.py
    and of the exercises' reference solutions."""
    _, patterns = forward(repeated_tokens(seq_len, batch, seed))
    out = {"induction": [], "previous_token": [], "current_token": [], "first_token": []}
    for p in patterns:
        out["induction"].append(np.diagonal(p, -(seq_len - 1), -2, -1)[..., -seq_len:].mean((0, -1)).tolist())
        out["previous_token"].append(np.diagonal(p, -1, -2, -1).mean((0, -1)).tolist())
        out["current_token"].append(np.diagonal(p, 0, -2, -1)[..., 1:].mean((0, -1)).tolist())
        out["first_token"].append(p[..., 1:, 0].mean((0, -1)).tolist())
    return out


@lru_cache(maxsize=8)
def _figure_data_json(seq_len: int, seed: int, batch: int) -> str:
    tokens = repeated_tokens(seq_len, batch, seed)
    logits, patterns = forward(tokens)
    loss = per_token_loss(logits, tokens)
    info = model_info()
    return json.dumps({
        "tokens": tokens[0].tolist(),
        "seq_len": seq_len,
        "batch": batch,
        "patterns": [p[0].tolist() for p in patterns],
        "per_token_loss": loss[0].tolist(),
        "mean_per_token_loss": loss.mean(0).tolist(),
        "induction_heads": [list(h) for h in info["induction_heads"]],
        "previous_token_heads": [list(h) for h in info["previous_token_heads"]],
        "head_scores": head_scores(),
    })


def figure_data(seq_len: int = 20, seed: int = 0, batch: int = 1) -> dict:
    """What the site draws, as plain Python data (a fresh copy; computed once per process):
      tokens:              the first sequence [BOS] + seq + seq, T = 1 + 2 * seq_len ints
      patterns:            patterns[layer][head]: T x T lists (query rows, key columns), first sequence
      per_token_loss:      T - 1 floats (loss of predicting token i + 1 at position i), first sequence
      mean_per_token_loss: the same averaged over the batch
      induction_heads, previous_token_heads: the shipped config's [layer, head] lists
      head_scores:         head_scores() (seq_len 30, batch 16)
      seq_len, batch
    """
    return json.loads(_figure_data_json(seq_len, seed, batch))
