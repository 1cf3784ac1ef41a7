"""Reference solution for qk-ov-circuits."""

import math

import torch
from transformer_lens import FactoredMatrix

from mi_exercise.models.induction import load_circuits_model, load_gpt2  # noqa: F401  (the grader loads the models through them)


def full_qk_circuit(model, layer: int) -> FactoredMatrix:
    W_E = model.W_E.detach()
    return FactoredMatrix(W_E @ model.W_Q[layer].detach(), model.W_K[layer].detach().transpose(-2, -1) @ W_E.T)


def full_ov_circuit(model, layer: int) -> FactoredMatrix:
    return FactoredMatrix(model.W_E.detach() @ model.W_V[layer].detach(), model.W_O[layer].detach() @ model.W_U.detach())


def layer_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """LNPre, what the model applies before every head: centre over d_model, divide by the RMS."""
    x = x - x.mean(-1, keepdim=True)
    return x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt()


def positional_pattern(model, layer: int, head: int, n_positions: int) -> torch.Tensor:
    W_pos = layer_norm(model.W_pos.detach()[:n_positions], model.cfg.eps)
    scores = (W_pos @ model.W_Q[layer, head].detach()) @ (W_pos @ model.W_K[layer, head].detach()).T
    scores = scores / math.sqrt(model.cfg.d_head)
    future = torch.triu(torch.ones(n_positions, n_positions, dtype=torch.bool, device=scores.device), diagonal=1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1)


def top_k_copying_accuracy(circuit, k: int = 1) -> float:
    chunk = 1024  # rows of the circuit formed at a time
    A, B = circuit.A, circuit.B
    n = A.shape[-2]
    hits = 0
    for start in range(0, n, chunk):
        rows = A[start:start + chunk] @ B                      # [chunk, d_vocab]: the logits each source token writes
        top = rows.topk(k, dim=-1).indices                      # [chunk, k]
        own = torch.arange(start, start + rows.shape[0], device=rows.device)[:, None]
        hits += int((top == own).any(-1).sum())
    return hits / n
