"""The shipped induction model's forward pass in numpy, for the site's pictures.

Building the site must stay fast, and importing torch and TransformerLens costs seconds; the
shipped model is small (2 attention-only layers, d_model 64), so numpy runs it in milliseconds.
tests/test_induction_model.py checks that its tokens, logits, cache (patterns, hook_z, ln_final
scale), weights, direct logit attribution and head-ablation losses equal the TransformerBridge's
and the logit-attribution and head-ablation reference solutions' on the same input.

    from mi_exercise.models.induction_numpy import figure_data
    data = figure_data(seq_len=10)     # plain lists: tokens, patterns[layer][head], losses, head scores
    tokens = repeated_tokens(20)       # [1, 41], the tokens induction.repeated_tokens(20) gives
    logit_attribution(tokens)          # [1, 40, n_components]; component_labels() names them
    loss_increase_per_head(repeated_tokens(25, batch=16), 25, "mean")   # [n_layers, n_heads]

Learner code never runs here: everything is the shipped model and the reference definitions of
the scores (the same as mi_exercise.models.induction.head_scores).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache

import numpy as np

# the same files as mi_exercise.models.induction (which imports torch, so it is not imported here)
from mi_exercise.models.induction_files import (  # noqa: F401 - part of this module's interface
    CONFIG_FILE,
    WEIGHTS_DIR,
    WEIGHTS_FILE,
    ModelUnavailable,
    model_info,
)


@lru_cache(maxsize=1)
def weights() -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    if not WEIGHTS_FILE.is_file():
        raise ModelUnavailable(f"the induction model's weights are missing ({WEIGHTS_FILE}); re-install the package")
    return load_file(str(WEIGHTS_FILE))


def repeated_tokens(seq_len: int, batch: int = 1, seed: int = 0) -> np.ndarray:
    """int64 [batch, 1 + 2 * seq_len]: BOS, then seq, then seq again; seq uniform over the non-BOS
    tokens. The same tokens as mi_exercise.models.induction.repeated_tokens with the same arguments:
    torch.randint on a CPU generator seeded with `seed` takes each draw as one 32-bit output of
    MT19937 (seeded as numpy's legacy RandomState seeds it) modulo the range, row by row."""
    if seq_len < 1 or batch < 1:
        raise ValueError(f"seq_len and batch must be at least 1 (got seq_len={seq_len}, batch={batch})")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    info = model_info()
    d_vocab, bos = int(info["model_config"]["d_vocab"]), int(info["bos_token"])
    raw = np.random.RandomState(seed).randint(0, 2**32, size=(batch, seq_len), dtype=np.uint32)  # the raw outputs
    seq = (raw % (d_vocab - 1)).astype(np.int64)
    seq = seq + (seq >= bos)
    return np.concatenate([np.full((batch, 1), bos), seq, seq], axis=1).astype(np.int64)


def W_O(layer: int) -> np.ndarray:
    """[n_heads, d_head, d_model]: head h of the layer writes z[..., h, :] @ W_O[h] to the residual stream."""
    cfg = model_info()["model_config"]
    n_heads, d_head = cfg["n_heads"], cfg["d_head"]
    return weights()[f"blocks.{layer}.attn.o.weight"].T.reshape(n_heads, d_head, cfg["d_model"])


def W_U() -> np.ndarray:
    """[d_model, d_vocab]: the unembedding (logits = ln_final(resid) @ W_U + b_U)."""
    return weights()["unembed.weight"].T


def run_with_cache(tokens, ablate: dict | None = None, edit: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The shipped model on tokens [batch, T]: (logits [batch, T, d_vocab], cache), the cache named
    like TransformerLens's hooks:
      hook_embed, hook_pos_embed:   [batch, T, d_model]
      blocks.L.attn.hook_pattern:   [batch, n_heads, T, T] (query rows, key columns)
      blocks.L.attn.hook_z:         [batch, T, n_heads, d_head] (after any ablation)
      ln_final.hook_scale:          [batch, T, 1], sqrt(variance + eps) of the final residual stream
    ablate maps (layer, head) to None (zero ablation) or a [d_head] vector (mean ablation): that head's
    hook_z output is replaced at every position before W_O, as a hook on blocks.L.attn.hook_z does.
    edit maps blocks.L.hook_resid_pre, blocks.L.attn.hook_z or blocks.L.hook_resid_post to a function
    of the activation returning its replacement, as a TransformerLens hook that returns a tensor
    (activation patching)."""
    tokens = np.asarray(tokens, dtype=np.int64)
    cfg = model_info()["model_config"]
    w = weights()
    n_heads, d_head, eps = cfg["n_heads"], cfg["d_head"], cfg.get("eps", 1e-5)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must be [batch, positions], got shape {list(tokens.shape)}")
    batch, T = tokens.shape
    if T > cfg["n_ctx"]:
        raise ValueError(f"{T} positions: the shipped model has n_ctx={cfg['n_ctx']}")
    ablate = {(int(layer), int(head)): value for (layer, head), value in (ablate or {}).items()}
    for (layer, head), value in ablate.items():
        if not (0 <= layer < cfg["n_layers"] and 0 <= head < n_heads):
            raise ValueError(f"no head {layer}.{head}: the shipped model has {cfg['n_layers']} layers of {n_heads} heads")
        if value is not None and np.shape(value) != (d_head,):
            raise ValueError(f"head {layer}.{head}'s mean-ablation value must be a [{d_head}] vector, "
                             f"got shape {list(np.shape(value))}")

    def ln(x, name):
        mean = x.mean(-1, keepdims=True)
        scale = np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + eps)
        return (x - mean) / scale * w[f"{name}.weight"] + w[f"{name}.bias"], scale

    def linear(x, name):
        out = x @ w[f"{name}.weight"].T
        return out + w[f"{name}.bias"] if f"{name}.bias" in w else out

    def heads(x):
        return x.reshape(batch, T, n_heads, d_head).transpose(0, 2, 1, 3)

    cache = {"hook_embed": w["embed.weight"][tokens],
             "hook_pos_embed": np.broadcast_to(w["pos_embed.weight"][:T], (batch, T, cfg["d_model"]))}
    edit = edit or {}

    def hook(name, x):
        return edit[name](x) if name in edit else x

    resid = cache["hook_embed"] + cache["hook_pos_embed"]
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    for layer in range(cfg["n_layers"]):
        resid = cache[f"blocks.{layer}.hook_resid_pre"] = hook(f"blocks.{layer}.hook_resid_pre", resid)
        x, _ = ln(resid, f"blocks.{layer}.ln1")
        q, k, v = (heads(linear(x, f"blocks.{layer}.attn.{n}")) for n in "qkv")
        scores = np.where(future, -np.inf, q @ k.transpose(0, 1, 3, 2) / math.sqrt(d_head))
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        pattern = scores / scores.sum(-1, keepdims=True)
        z = (pattern @ v).transpose(0, 2, 1, 3)  # [batch, T, n_heads, d_head]
        for (l, head), value in ablate.items():
            if l == layer:
                z[:, :, head] = 0.0 if value is None else value
        z = hook(f"blocks.{layer}.attn.hook_z", z)
        cache[f"blocks.{layer}.attn.hook_pattern"] = pattern
        cache[f"blocks.{layer}.attn.hook_z"] = z
        resid = resid + linear(z.reshape(batch, T, n_heads * d_head), f"blocks.{layer}.attn.o")
        resid = cache[f"blocks.{layer}.hook_resid_post"] = hook(f"blocks.{layer}.hook_resid_post", resid)
    normed, cache["ln_final.hook_scale"] = ln(resid, "ln_final")
    return linear(normed, "unembed"), cache


def forward(tokens) -> tuple[np.ndarray, list[np.ndarray]]:
    """(logits [batch, T, d_vocab], [pattern [batch, n_heads, T, T] per layer]) of the shipped model."""
    logits, cache = run_with_cache(tokens)
    n_layers = model_info()["model_config"]["n_layers"]
    return logits, [cache[f"blocks.{layer}.attn.hook_pattern"] for layer in range(n_layers)]


def per_token_loss(logits: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """[batch, T - 1]: cross-entropy of predicting token i + 1 at position i."""
    logits = logits[:, :-1].astype(np.float64)
    logz = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
    target = np.take_along_axis(logits, tokens[:, 1:, None], axis=-1)[..., 0]
    return logz - target


def head_outputs(z: np.ndarray, layer: int) -> np.ndarray:
    """[batch, T, n_heads, d_model]: what each head of the layer writes to the residual stream
    (its hook_z output [batch, T, n_heads, d_head] times its W_O; the layer's b_O is not included)."""
    return np.einsum("bphd,hdm->bphm", z, W_O(layer))


def component_labels() -> list[str]:
    """The residual stream's components in residual_components' order: embed, pos_embed, each head
    "L.H", then "bias" (the attention layers' b_O summed)."""
    cfg = model_info()["model_config"]
    heads = [f"{layer}.{head}" for layer in range(cfg["n_layers"]) for head in range(cfg["n_heads"])]
    return ["embed", "pos_embed", *heads, "bias"]


def residual_components(tokens) -> tuple[np.ndarray, np.ndarray]:
    """(components [batch, T, 2 + n_layers * n_heads + 1, d_model], ln_final scale [batch, T, 1]): the
    terms whose sum is the final residual stream, in component_labels' order."""
    _, cache = run_with_cache(tokens)
    cfg = model_info()["model_config"]
    embed = cache["hook_embed"]
    parts = [embed, cache["hook_pos_embed"]]
    for layer in range(cfg["n_layers"]):
        outs = head_outputs(cache[f"blocks.{layer}.attn.hook_z"], layer)
        parts.extend(outs[:, :, h] for h in range(cfg["n_heads"]))
    b_O = sum(weights()[f"blocks.{layer}.attn.o.bias"] for layer in range(cfg["n_layers"]))
    parts.append(np.broadcast_to(b_O, embed.shape))
    return np.stack(parts, axis=2), cache["ln_final.hook_scale"]


def logit_attribution(tokens) -> np.ndarray:
    """[batch, T - 1, n_components]: each component's direct contribution to the logit of the correct
    next token (position p predicts tokens[:, p + 1]) through ln_final, with the final LayerNorm's
    scale frozen at its value on the whole residual stream: centre the component, divide by that
    scale, multiply by ln_final's weight, dot with the token's W_U column (the biases are left out)."""
    tokens = np.asarray(tokens, dtype=np.int64)
    components, scale = residual_components(tokens)
    comps = components[:, :-1]
    normed = (comps - comps.mean(-1, keepdims=True)) / scale[:, :-1, None] * weights()["ln_final.weight"]
    directions = W_U()[:, tokens[:, 1:]]  # [d_model, batch, T - 1]
    return np.einsum("bpcd,dbp->bpc", normed, directions)


def mean_z(tokens) -> np.ndarray:
    """[n_layers, n_heads, d_head]: each head's hook_z output averaged over the batch and every position
    (the values of mean ablation)."""
    _, cache = run_with_cache(tokens)
    n_layers = model_info()["model_config"]["n_layers"]
    return np.stack([cache[f"blocks.{layer}.attn.hook_z"].mean((0, 1)) for layer in range(n_layers)])


def ablated_logits(tokens, heads, means: np.ndarray | None = None) -> np.ndarray:
    """Logits [batch, T, d_vocab] with each [layer, head] in heads zero-ablated (means None) or
    mean-ablated (its hook_z output replaced by means[layer, head], means as mean_z gives)."""
    return run_with_cache(tokens, {(layer, head): None if means is None else means[layer][head]
                                   for layer, head in heads})[0]


def half_losses(logits: np.ndarray, tokens, seq_len: int) -> tuple[float, float]:
    """Mean per-token loss on [BOS] + seq + seq: (predictions of the first copy, predictions of the
    second copy), i.e. of positions 0..seq_len - 1 and seq_len..2 seq_len - 1."""
    loss = per_token_loss(logits, np.asarray(tokens, dtype=np.int64))
    return float(loss[:, :seq_len].mean()), float(loss[:, seq_len:].mean())


def _ablation_means(tokens, ablation: str):
    if ablation not in ("zero", "mean"):
        raise ValueError(f"ablation must be 'zero' or 'mean', got {ablation!r}")
    return mean_z(tokens) if ablation == "mean" else None


def half_loss_increase(tokens, seq_len: int, heads, ablation: str = "zero") -> tuple[float, float]:
    """(first-copy, second-copy) increase of half_losses when the heads are ablated together; mean
    ablation uses mean_z of these tokens."""
    means = _ablation_means(tokens, ablation)
    clean = half_losses(forward(tokens)[0], tokens, seq_len)
    ablated = half_losses(ablated_logits(tokens, heads, means), tokens, seq_len)
    return ablated[0] - clean[0], ablated[1] - clean[1]


def loss_increase_per_head(tokens, seq_len: int, ablation: str = "zero") -> np.ndarray:
    """[n_layers, n_heads]: the second-copy loss increase of ablating each head alone."""
    cfg = model_info()["model_config"]
    means = _ablation_means(tokens, ablation)
    clean = half_losses(forward(tokens)[0], tokens, seq_len)[1]
    out = np.zeros((cfg["n_layers"], cfg["n_heads"]))
    for layer in range(cfg["n_layers"]):
        for head in range(cfg["n_heads"]):
            out[layer, head] = half_losses(ablated_logits(tokens, [[layer, head]], means), tokens, seq_len)[1] - clean
    return out


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
