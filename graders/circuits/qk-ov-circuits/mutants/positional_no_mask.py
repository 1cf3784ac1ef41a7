"""Mutant: positional_pattern leaves out the causal mask, so queries attend to later positions too."""

import math


def positional_pattern(model, layer, head, n_positions):
    W_pos = layer_norm(model.W_pos.detach()[:n_positions], model.cfg.eps)  # noqa: F821 - the solution's
    scores = (W_pos @ model.W_Q[layer, head].detach()) @ (W_pos @ model.W_K[layer, head].detach()).T / math.sqrt(model.cfg.d_head)
    return scores.softmax(dim=-1)
