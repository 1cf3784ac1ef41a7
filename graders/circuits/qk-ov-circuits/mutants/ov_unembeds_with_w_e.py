"""Mutant: full_ov_circuit unembeds with W_Eᵀ (as if the embedding were tied) instead of the model's W_U."""

from transformer_lens import FactoredMatrix


def full_ov_circuit(model, layer):
    W_E = model.W_E.detach()
    return FactoredMatrix(W_E @ model.W_V[layer].detach(), model.W_O[layer].detach() @ W_E.T)
