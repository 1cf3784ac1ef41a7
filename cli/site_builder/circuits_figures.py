"""Figures for the circuits chapter's pages (composition scores, activation patching, the capstone),
computed in numpy from the shipped model's weights and the reference definitions, never by running
the learner's file. The learner's own matrices come from what the grader recorded during their
last check (context["learner_results"], see learner_results.py) and are drawn beside these.

    from mi_exercise.site_builder.circuits_figures import composition_viewer, pattern_viewer
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mi_exercise.models.induction_numpy import figure_data, model_info, weights
from mi_exercise.site_builder.induction_figures import token_labels

KINDS = {"q": "Q-composition", "k": "K-composition", "v": "V-composition"}


@lru_cache(maxsize=1)
def head_matrices() -> dict[str, np.ndarray]:
    """W_Q, W_K, W_V [n_layers, n_heads, d_model, d_head] and W_O [n_layers, n_heads, d_head, d_model]
    as TransformerLens names them, from the shipped state dict (nn.Linear weights are [out, in])."""
    cfg = model_info()["model_config"]
    L, H, d, dh = cfg["n_layers"], cfg["n_heads"], cfg["d_model"], cfg["d_head"]
    w = weights()
    out = {}
    for name, key in (("W_Q", "q"), ("W_K", "k"), ("W_V", "v")):
        out[name] = np.stack([w[f"blocks.{l}.attn.{key}.weight"].T.reshape(d, H, dh).transpose(1, 0, 2) for l in range(L)])
    out["W_O"] = np.stack([w[f"blocks.{l}.attn.o.weight"].T.reshape(H, dh, d) for l in range(L)])
    return out


def qk_ov() -> tuple[np.ndarray, np.ndarray]:
    m = head_matrices()
    return m["W_Q"] @ m["W_K"].transpose(0, 1, 3, 2), m["W_V"] @ m["W_O"]


def composition_score(A: np.ndarray, B: np.ndarray) -> float:
    return float(np.linalg.norm(A @ B) / (np.linalg.norm(A) * np.linalg.norm(B)))


def composition_matrix(kind: str, writer_layer: int = 0, reader_layer: int = 1) -> np.ndarray:
    """[n_heads, n_heads]: the reference composition_scores (rows writer heads, columns reader heads)."""
    W_QK, W_OV = qk_ov()
    H = W_OV.shape[1]
    reader = {"q": lambda j: W_QK[reader_layer, j], "k": lambda j: W_QK[reader_layer, j].T,
              "v": lambda j: W_OV[reader_layer, j]}[kind]
    return np.array([[composition_score(W_OV[writer_layer, i], reader(j)) for j in range(H)] for i in range(H)])


@lru_cache(maxsize=4)
def random_baseline(n_samples: int = 400, seed: int = 0) -> float:
    cfg = model_info()["model_config"]
    rng = np.random.default_rng(seed)
    d, dh = cfg["d_model"], cfg["d_head"]

    def low_rank():
        return rng.standard_normal((d, dh)) @ rng.standard_normal((dh, d))
    return float(np.mean([composition_score(low_rank(), low_rank()) for _ in range(n_samples)]))


def learner_items(context: dict, names: dict[str, str]) -> list[dict]:
    """The learner's recorded arrays named in names (recorded name -> item name)."""
    recorded = (context.get("learner_results") or {}).get("figures", {})
    return [{"name": item, "data": recorded[key]} for key, item in names.items() if key in recorded]


def learner_note(context: dict) -> str:
    when = (context.get("learner_results") or {}).get("checked_at", "")
    return ("Beside the reference: what your functions returned in your last check" + (f" ({when})" if when else "") +
            ". Point at a cell to compare the two.")


def composition_viewer(context: dict) -> dict:
    head_labels = [f"1.{h}" for h in range(model_info()["model_config"]["n_heads"])]
    writer_labels = [f"0.{h}" for h in range(len(head_labels))]
    items = [{"name": KINDS[k], "data": composition_matrix(k)} for k in "qkv"]
    return {"kind": "viewer", "title": "Composition scores, layer 0 -> layer 1", "items": items,
            "learner": learner_items(context, {f"{k}_composition": KINDS[k] for k in "qkv"}),
            "learner_note": learner_note(context), "select_label": "composition",
            "x_labels": head_labels, "y_labels": writer_labels, "x_title": "reader head (layer 1)",
            "y_title": "writer head (layer 0)", "vmin": 0.0, "vmax": 0.3}


def pattern_viewer(context: dict, seq_len: int = 10, learner_names: dict[str, str] | None = None) -> dict:
    """Every head's attention pattern on [BOS] + seq + seq (seed 0), one viewer with a head selector."""
    data = figure_data(seq_len=seq_len, seed=0)
    labels = [f"{p}:{t}" for p, t in enumerate(token_labels(data["tokens"]))]
    items = [{"name": f"head {l}.{h}", "data": data["patterns"][l][h]}
             for l in range(len(data["patterns"])) for h in range(len(data["patterns"][l]))]
    return {"kind": "viewer", "title": f"Attention patterns on [BOS] + seq + seq, seq_len {seq_len}", "items": items,
            "learner": learner_items(context, learner_names or {}), "learner_note": learner_note(context),
            "select_label": "head", "x_labels": labels, "y_labels": labels,
            "x_title": "key (position:token)", "y_title": "query (position:token)", "vmin": 0.0, "vmax": 1.0}


def positional_qk(layer: int, head: int, n: int = 16) -> np.ndarray:
    """[n, n]: pos_embed[q] @ W_QK @ pos_embed[k] / sqrt(d_head) for the first n positions, the future
    masked to NaN: the part of a head's attention score that depends on positions alone (LayerNorm left out)."""
    W_QK, _ = qk_ov()
    pos = weights()["pos_embed.weight"][:n]
    scores = pos @ W_QK[layer, head] @ pos.T / np.sqrt(model_info()["model_config"]["d_head"])
    scores[np.triu(np.ones((n, n), dtype=bool), k=1)] = np.nan
    return scores


# -- activation patching: the exercise's reference definitions in numpy ------------------------------

def patching_setup(seq_len: int = 12, k: int = 6, batch: int = 8, seed: int = 3) -> dict:
    """The grader's finding test's inputs: clean [BOS] + seq + seq, the first copy's seq[k + 1] (position
    2 + k) replaced by the next token id not in the row, the query position 1 + seq_len + k."""
    from mi_exercise.models.induction_numpy import repeated_tokens

    clean = repeated_tokens(seq_len, batch, seed)
    correct = clean[:, 2 + k].copy()
    wrong = np.array([next(t % 128 for t in range(int(c) + 1, int(c) + 128) if t % 128 and t % 128 not in set(row.tolist()))
                      for c, row in zip(correct, clean)])
    corrupted = clean.copy()
    corrupted[:, 2 + k] = wrong
    return {"clean": clean, "corrupted": corrupted, "correct": correct, "wrong": wrong, "pos": 1 + seq_len + k,
            "seq_len": seq_len, "k": k}


def _logit_diff(logits, s) -> float:
    rows = np.arange(len(s["correct"]))
    return float((logits[rows, s["pos"], s["correct"]] - logits[rows, s["pos"], s["wrong"]]).mean())


def residual_hook_names() -> list[str]:
    L = model_info()["model_config"]["n_layers"]
    return [f"blocks.{layer}.hook_resid_pre" for layer in range(L)] + [f"blocks.{L - 1}.hook_resid_post"]


def patching_maps(s: dict | None = None) -> dict:
    """{"clean", "corrupted": mean logit differences, "residual": [n_layers + 1, T], "heads": [n_layers,
    n_heads]}: the normalised logit difference after each patch, as the reference solution computes it."""
    from mi_exercise.models.induction_numpy import run_with_cache

    s = s or patching_setup()
    clean_logits, cache = run_with_cache(s["clean"])
    hi, lo = _logit_diff(clean_logits, s), _logit_diff(run_with_cache(s["corrupted"])[0], s)

    def score(edit):
        return (_logit_diff(run_with_cache(s["corrupted"], edit=edit)[0], s) - lo) / (hi - lo)

    def put(name, index):
        def fn(x):
            x = x.copy()
            x[index] = cache[name][index]
            return x
        return {name: fn}

    T = s["clean"].shape[1]
    residual = np.array([[score(put(name, (slice(None), p))) for p in range(T)] for name in residual_hook_names()])
    cfg = model_info()["model_config"]
    heads = np.array([[score(put(f"blocks.{layer}.attn.hook_z", (slice(None), slice(None), h)))
                       for h in range(cfg["n_heads"])] for layer in range(cfg["n_layers"])])
    return {"clean": hi, "corrupted": lo, "residual": residual, "heads": heads, "setup": s}
