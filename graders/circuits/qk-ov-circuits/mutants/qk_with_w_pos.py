"""Mutant: full_qk_circuit uses W_pos where W_E belongs (a positional circuit, [n_ctx, n_ctx], instead of the token circuit)."""

from transformer_lens import FactoredMatrix


def full_qk_circuit(model, layer):
    W_pos = model.W_pos.detach()
    return FactoredMatrix(W_pos @ model.W_Q[layer].detach(), model.W_K[layer].detach().transpose(-2, -1) @ W_pos.T)
