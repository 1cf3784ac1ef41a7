"""Mutant: full_qk_circuit reads queries through W_K and keys through W_Q (W_K transposed the wrong way): the circuit's transpose."""

from transformer_lens import FactoredMatrix


def full_qk_circuit(model, layer):
    W_E = model.W_E.detach()
    return FactoredMatrix(W_E @ model.W_K[layer].detach(), model.W_Q[layer].detach().transpose(-2, -1) @ W_E.T)
