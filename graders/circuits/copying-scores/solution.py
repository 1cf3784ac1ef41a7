"""Reference solution for copying-scores."""

import torch
from transformer_lens import FactoredMatrix

from mi_exercise.models.induction import load_circuits_model, load_gpt2  # noqa: F401  (the grader loads the models through them)


def ov_eigenvalues(model) -> torch.Tensor:
    W_E, W_U = model.W_E.detach(), model.W_U.detach()
    per_layer = []
    for layer in range(model.cfg.n_layers):
        circuit = FactoredMatrix(W_E @ model.W_V[layer].detach(), model.W_O[layer].detach() @ W_U)
        per_layer.append(circuit.eigenvalues)  # eigenvalues of BA [n_heads, d_head, d_head]
    return torch.stack(per_layer)


def copying_score(eigenvalues: torch.Tensor) -> torch.Tensor:
    return eigenvalues.sum(-1).real / eigenvalues.abs().sum(-1)


def copying_heads(model, threshold: float = 0.7) -> list[list[int]]:
    scores = copying_score(ov_eigenvalues(model))
    return [[layer, head] for layer, head in (scores > threshold).nonzero().tolist()]
