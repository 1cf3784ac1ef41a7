"""Reference solution for composition-scores."""

import torch

from mi_exercise.models.induction import load_induction_model  # noqa: F401  (the grader asks the worker for the model through it)


def qk_ov_matrices(model) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        W_QK = model.W_Q @ model.W_K.transpose(-1, -2)   # [n_layers, n_heads, d_model, d_model]
        W_OV = model.W_V @ model.W_O
    return W_QK, W_OV


def composition_score(W_A: torch.Tensor, W_B: torch.Tensor) -> float:
    return float((W_A @ W_B).norm() / (W_A.norm() * W_B.norm()))


def reader_matrix(W_QK: torch.Tensor, W_OV: torch.Tensor, kind: str, layer: int, head: int) -> torch.Tensor:
    """W_B of the composition score: what the reader multiplies the writer's output by."""
    return {"q": W_QK[layer, head], "k": W_QK[layer, head].T, "v": W_OV[layer, head]}[kind]


def composition_scores(W_QK: torch.Tensor, W_OV: torch.Tensor, kind: str, writer_layer: int,
                       reader_layer: int) -> torch.Tensor:
    if kind not in ("q", "k", "v"):
        raise ValueError(f"kind must be 'q', 'k' or 'v', got {kind!r}")
    if not writer_layer < reader_layer:
        raise ValueError(f"a head can only compose with a head of a later layer: {writer_layer} -> {reader_layer}")
    n_heads = W_OV.shape[1]
    out = torch.zeros(n_heads, n_heads)
    for i in range(n_heads):
        for j in range(n_heads):
            out[i, j] = composition_score(W_OV[writer_layer, i], reader_matrix(W_QK, W_OV, kind, reader_layer, j))
    return out


def random_baseline(d_model: int, d_head: int, n_samples: int = 200, seed: int = 0) -> float:
    gen = torch.Generator().manual_seed(seed)

    def low_rank():
        return torch.randn(d_model, d_head, generator=gen) @ torch.randn(d_head, d_model, generator=gen)

    return sum(composition_score(low_rank(), low_rank()) for _ in range(n_samples)) / n_samples


def composition_pairs(scores: torch.Tensor, baseline: float, ratio: float = 1.5) -> list[list[int]]:
    return [[i, j] for i in range(scores.shape[0]) for j in range(scores.shape[1])
            if float(scores[i, j]) > ratio * baseline]
