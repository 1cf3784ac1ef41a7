"""Figures for the circuits chapter's pages, computed from the shipped circuits model's weights in
numpy (``mi_exercise.models.circuits_numpy``: no torch or TransformerLens import), never by running
the learner's code.

    from mi_exercise.site_builder.circuit_weights_figures import positional_figure, copying_figure
"""

from __future__ import annotations

import numpy as np

from mi_exercise.models import circuits_numpy as cn
from mi_exercise.models.induction_files import model_info
from mi_exercise.site_builder.induction_figures import found_note, heads_text  # noqa: F401 - re-exported for the hooks

MODEL = "attn-only-circuits"
POSITIONS = 40  # the positional patterns' size: readable cells, past where chapter 2's model faded


def heads(kind: str, name: str = MODEL) -> list[list[int]]:
    """The model's "induction_heads" or "previous_token_heads" as its config lists them."""
    return [list(h) for h in model_info(name)[kind]]


def layer_head_heatmap(values, title: str, caption: str, vmin: float, vmax: float) -> dict:
    values = np.asarray(values).tolist()
    return {"kind": "heatmap", "title": title, "data": values, "x_labels": [str(h) for h in range(len(values[0]))],
            "y_labels": [str(l) for l in range(len(values))], "x_title": "head", "y_title": "layer",
            "vmin": vmin, "vmax": vmax, "caption": caption}


def qk_singular_values_figure(name: str = MODEL) -> dict:
    cfg = cn.config(name)
    series = {}
    for layer in range(cfg["n_layers"]):
        s = np.linalg.svd(cn.full_qk(name, layer), compute_uv=False)  # [n_heads, d_vocab]
        for head in range(cfg["n_heads"]):
            series[f"{layer}.{head}"] = (list(range(1, 33)), [max(float(v), 1e-12) for v in s[head, :32]])
    return {"kind": "lines", "title": "Singular values of each head's full QK circuit W_E W_Q W_Kᵀ W_Eᵀ",
            "series": series, "x_title": "index (largest first)", "y_title": "singular value (log scale)", "log_y": True,
            "caption": f"Each circuit is {cfg['d_vocab']} x {cfg['d_vocab']}, but only its first d_head = {cfg['d_head']} "
                       "singular values are not zero (they fall to rounding error at 17): the matrix has rank d_head, "
                       "and its two factors hold all of it."}


def ab_ba_eigenvalues_figure(layer: int, head: int, name: str = MODEL) -> dict:
    ov = cn.full_ov(name, layer)[head]
    ab = np.linalg.eigvals(ov)
    ba = np.linalg.eigvals((cn.W_O(name, layer)[head] @ cn.W_U(name)) @ (cn.W_E(name) @ cn.W_V(name, layer)[head]))
    return {"kind": "scatter", "title": f"Eigenvalues of head {layer}.{head}'s OV circuit: AB [{len(ab)}] and BA [{len(ba)}]",
            "series": {f"AB ({len(ab)} values)": (ab.real.tolist(), ab.imag.tolist()),
                       f"BA ({len(ba)} values)": (ba.real.tolist(), ba.imag.tolist())},
            "x_title": "real part", "y_title": "imaginary part",
            "caption": f"The {len(ab) - len(ba)} extra eigenvalues of the full {len(ab)} x {len(ab)} matrix AB sit at 0; "
                       f"its other {len(ba)} are exactly those of the {len(ba)} x {len(ba)} matrix BA (each dot of BA "
                       "covers one of AB's)."}


def positional_figure(layer: int, head: int, n: int = POSITIONS, name: str = MODEL, caption: str = "") -> dict:
    pattern = cn.positional_pattern(name, layer, head, n)
    labels = [str(i) for i in range(n)]
    return {"kind": "heatmap", "title": f"Head {layer}.{head}: positional pattern softmax(P W_Q W_Kᵀ Pᵀ / √d_head), P = LN(W_pos)",
            "data": pattern.tolist(), "x_labels": labels, "y_labels": labels, "x_title": "key position",
            "y_title": "query position", "vmin": 0.0, "vmax": 1.0,
            "caption": caption or f"Mean weight one position back: {np.diagonal(pattern, -1).mean():.2f}."}


def ov_circuit_figure(layer: int, head: int, n_tokens: int = 40, name: str = MODEL) -> dict:
    ov = cn.full_ov(name, layer)[head][:n_tokens, :n_tokens]
    labels = [str(i) for i in range(n_tokens)]
    return {"kind": "heatmap", "title": f"Head {layer}.{head}: full OV circuit W_E W_V W_O W_U (tokens 0-{n_tokens - 1})",
            "data": ov.tolist(), "x_labels": labels, "y_labels": labels, "x_title": "logit raised (token)",
            "y_title": "token attended to", "caption": "A bright diagonal is a copying head: attending to token t raises "
                                                        "t's own logit. Token 0 is BOS."}


def accuracy_figure(k: int, name: str = MODEL) -> dict:
    cfg = cn.config(name)
    acc = [cn.top_k_accuracy(name, layer, k).tolist() for layer in range(cfg["n_layers"])]
    return layer_head_heatmap(acc, f"Top-{k} copying accuracy of each head's full OV circuit",
                              f"The share of the {cfg['d_vocab']} tokens t whose row of the circuit has t among its {k} "
                              "largest logits (1 = the head copies every token).", 0.0, 1.0)


def copying_figure(name: str = MODEL) -> dict:
    return layer_head_heatmap(cn.copying_scores(name), "Copying score Re(Σλ) / Σ|λ| of each head's full OV circuit",
                              "From -1 (every eigenvalue negative: the head suppresses what it attends to) to 1 (every "
                              "eigenvalue positive: it copies).", -1.0, 1.0)


def eigenvalue_figure(head_list, name: str = MODEL) -> dict:
    eig = cn.ov_eigenvalues(name)
    series = {f"head {l}.{h} (score {cn.copying_scores(name)[l, h]:.2f})": (eig[l, h].real.tolist(), eig[l, h].imag.tolist())
              for l, h in head_list}
    return {"kind": "scatter", "title": "Eigenvalues of full OV circuits in the complex plane", "series": series,
            "x_title": "real part", "y_title": "imaginary part",
            "caption": "A copying head's eigenvalues lie to the right, on or near the positive real axis."}
