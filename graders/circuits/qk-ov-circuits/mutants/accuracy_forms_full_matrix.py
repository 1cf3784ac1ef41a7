"""Mutant: top_k_copying_accuracy forms the whole circuit A @ B at once (right on small circuits, 10 GB at 50000 tokens)."""

import torch


def top_k_copying_accuracy(circuit, k=1, chunk=1024):
    full = circuit.A @ circuit.B
    top = full.topk(k, dim=-1).indices
    return (top == torch.arange(full.shape[0], device=full.device)[:, None]).any(-1).float().mean().item()
