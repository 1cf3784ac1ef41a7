"""Mutant: positional_pattern feeds the raw W_pos to the head, leaving out the LayerNorm the model applies before every head."""

import math

import torch


def positional_pattern(model, layer, head, n_positions):
    W_pos = model.W_pos.detach()[:n_positions]
    scores = (W_pos @ model.W_Q[layer, head].detach()) @ (W_pos @ model.W_K[layer, head].detach()).T / math.sqrt(model.cfg.d_head)
    future = torch.triu(torch.ones(n_positions, n_positions, dtype=torch.bool, device=scores.device), diagonal=1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1)
