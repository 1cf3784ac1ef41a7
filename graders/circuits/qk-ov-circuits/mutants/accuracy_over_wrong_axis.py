"""Mutant: top_k_copying_accuracy takes the top k over the source tokens (dim 0, each column) instead of each row's logits."""

import torch


def top_k_copying_accuracy(circuit, k=1, chunk=1024):
    A, B = circuit.A, circuit.B
    n = B.shape[-1]
    hits = 0
    for start in range(0, n, chunk):
        cols = A @ B[:, start:start + chunk]                   # [d_vocab, chunk]
        top = cols.topk(k, dim=0).indices                       # [k, chunk]
        own = torch.arange(start, start + cols.shape[1], device=cols.device)[None, :]
        hits += int((top == own).any(0).sum())
    return hits / n
