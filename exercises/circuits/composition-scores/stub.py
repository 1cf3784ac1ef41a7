"""Composition scores: which earlier heads does a later head read from, and through which input?

Fill in each function, then run `mi-exercise check composition-scores`.

TransformerLens multiplies row vectors from the left (x @ W). For head h of layer L:
    model.W_Q[L, h], model.W_K[L, h], model.W_V[L, h]: [d_model, d_head]
    model.W_O[L, h]:                                   [d_head, d_model]

    from mi_exercise.models.induction import load_induction_model
    model = load_induction_model()
"""

import torch

from mi_exercise.models.induction import load_induction_model  # noqa: F401


def qk_ov_matrices(model) -> tuple[torch.Tensor, torch.Tensor]:
    """(W_QK, W_OV), each [n_layers, n_heads, d_model, d_model]: the attention score between a
    query residual x_q and a key residual x_k is x_q @ W_QK @ x_k.T, and a head moves x @ W_OV from
    the key position it attends to."""
    raise NotImplementedError("qk_ov_matrices")


def composition_score(W_A: torch.Tensor, W_B: torch.Tensor) -> float:
    """||W_A @ W_B||_F / (||W_A||_F * ||W_B||_F) as a float. W_A [m, n], W_B [n, p]."""
    raise NotImplementedError("composition_score")


def composition_scores(W_QK: torch.Tensor, W_OV: torch.Tensor, kind: str, writer_layer: int,
                       reader_layer: int) -> torch.Tensor:
    """[n_heads, n_heads]: entry [i, j] is the kind ("q", "k" or "v"; anything else: ValueError)
    composition score of head i of writer_layer into head j of reader_layer (writer_layer must be
    earlier than reader_layer, else ValueError). W_QK and W_OV as qk_ov_matrices returns them."""
    raise NotImplementedError("composition_scores")


def random_baseline(d_model: int, d_head: int, n_samples: int = 200, seed: int = 0) -> float:
    """The mean composition score of n_samples pairs of random matrices shaped like a head's W_OV
    and W_QK: [d_model, d_model] products of a random [d_model, d_head] and [d_head, d_model]."""
    raise NotImplementedError("random_baseline")


def composition_pairs(scores: torch.Tensor, baseline: float, ratio: float = 1.5) -> list[list[int]]:
    """[[i, j], ...] for every entry of scores [n_writers, n_readers] above ratio * baseline, in
    row-major order."""
    raise NotImplementedError("composition_pairs")
