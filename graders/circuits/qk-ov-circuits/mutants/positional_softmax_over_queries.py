"""Mutant: positional_pattern takes the softmax over the queries (dim 0) instead of over each query's keys."""

import math

import torch


def positional_pattern(model, layer, head, n_positions):
    W_pos = layer_norm(model.W_pos.detach()[:n_positions], model.cfg.eps)  # noqa: F821 - the solution's
    scores = (W_pos @ model.W_Q[layer, head].detach()) @ (W_pos @ model.W_K[layer, head].detach()).T / math.sqrt(model.cfg.d_head)
    future = torch.triu(torch.ones(n_positions, n_positions, dtype=torch.bool, device=scores.device), diagonal=1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=0)
