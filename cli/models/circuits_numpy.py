"""The shipped circuits models' weights and circuits in numpy, for the site's pictures.

Building the site must stay fast, and importing torch and TransformerLens costs seconds; every
circuit the circuits chapter draws is a product of a few small weight matrices, so numpy computes
them in milliseconds. tests/test_circuits_models.py checks that the weights equal the
TransformerBridge's and the circuits equal the chapter's reference solutions.

    from mi_exercise.models import circuits_numpy as cn
    cn.W_Q("attn-only-circuits", 0).shape        # (4, 64, 16): [n_heads, d_model, d_head]
    cn.positional_pattern("attn-only-circuits", 0, 1, 40)   # [40, 40], rows sum to 1
    cn.copying_scores("attn-only-circuits")      # [n_layers, n_heads]

Learner code never runs here.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from mi_exercise.models.induction_files import ModelUnavailable, model_info, weights_file

DEFAULT = "attn-only-circuits"


@lru_cache(maxsize=None)
def weights(name: str = DEFAULT) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    path = weights_file(name)
    if not path.is_file():
        raise ModelUnavailable(f"the {name} model's weights are missing ({path}); re-install the package")
    return {k: v.astype(np.float64) for k, v in load_file(str(path)).items()}


def config(name: str = DEFAULT) -> dict:
    return model_info(name)["model_config"]


def W_E(name: str = DEFAULT) -> np.ndarray:
    return weights(name)["embed.weight"]                      # [d_vocab, d_model]


def W_pos(name: str = DEFAULT) -> np.ndarray:
    return weights(name)["pos_embed.weight"]                  # [n_ctx, d_model]


def W_U(name: str = DEFAULT) -> np.ndarray:
    return weights(name)["unembed.weight"].T                  # [d_model, d_vocab]


def _reads(name: str, layer: int, which: str) -> np.ndarray:
    """[n_heads, d_model, d_head] of the q, k or v projection (nn.Linear weight [n_heads * d_head, d_model])."""
    cfg = config(name)
    w = weights(name)[f"blocks.{layer}.attn.{which}.weight"]
    return w.T.reshape(cfg["d_model"], cfg["n_heads"], cfg["d_head"]).transpose(1, 0, 2)


def W_Q(name: str, layer: int) -> np.ndarray:
    return _reads(name, layer, "q")


def W_K(name: str, layer: int) -> np.ndarray:
    return _reads(name, layer, "k")


def W_V(name: str, layer: int) -> np.ndarray:
    return _reads(name, layer, "v")


def W_O(name: str, layer: int) -> np.ndarray:
    """[n_heads, d_head, d_model] (nn.Linear weight [d_model, n_heads * d_head])."""
    cfg = config(name)
    return weights(name)[f"blocks.{layer}.attn.o.weight"].T.reshape(cfg["n_heads"], cfg["d_head"], cfg["d_model"])


def full_qk(name: str, layer: int) -> np.ndarray:
    """Every head's W_E W_Q W_Kᵀ W_Eᵀ [n_heads, d_vocab, d_vocab] (small enough to form here)."""
    E = W_E(name)
    return (E @ W_Q(name, layer)) @ (E @ W_K(name, layer)).transpose(0, 2, 1)


def full_ov(name: str, layer: int) -> np.ndarray:
    """Every head's W_E W_V W_O W_U [n_heads, d_vocab, d_vocab]."""
    return (W_E(name) @ W_V(name, layer)) @ (W_O(name, layer) @ W_U(name))


def positional_pattern(name: str, layer: int, head: int, n: int) -> np.ndarray:
    """softmax over keys of the causal-masked P W_Q W_Kᵀ Pᵀ / sqrt(d_head), P = LNPre(W_pos[:n]): [n, n]."""
    P = W_pos(name)[:n]
    P = P - P.mean(-1, keepdims=True)
    P = P / np.sqrt((P ** 2).mean(-1, keepdims=True) + config(name).get("eps", 1e-5))
    scores = (P @ W_Q(name, layer)[head]) @ (P @ W_K(name, layer)[head]).T / math.sqrt(config(name)["d_head"])
    scores = np.where(np.triu(np.ones((n, n), dtype=bool), k=1), -np.inf, scores)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    return scores / scores.sum(-1, keepdims=True)


def ov_eigenvalues(name: str = DEFAULT) -> np.ndarray:
    """complex [n_layers, n_heads, d_head]: the eigenvalues of each head's BA = (W_O W_U)(W_E W_V)."""
    return np.stack([np.linalg.eigvals((W_O(name, l) @ W_U(name)) @ (W_E(name) @ W_V(name, l)))
                     for l in range(config(name)["n_layers"])])


def copying_scores(name: str = DEFAULT) -> np.ndarray:
    """Re(Σλ) / Σ|λ| of each head's full OV circuit: [n_layers, n_heads]."""
    eig = ov_eigenvalues(name)
    return eig.sum(-1).real / np.abs(eig).sum(-1)


def top_k_accuracy(name: str, layer: int, k: int = 1) -> np.ndarray:
    """[n_heads]: the share of tokens t whose row of the full OV circuit has t among its k largest entries."""
    ov = full_ov(name, layer)
    top = np.argsort(-ov, axis=-1)[..., :k]
    return (top == np.arange(ov.shape[-1])[:, None]).any(-1).mean(-1)
