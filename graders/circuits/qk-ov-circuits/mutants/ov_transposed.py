"""Mutant: full_ov_circuit returns the transpose (rows = logits, columns = source tokens): W_Uᵀ W_Oᵀ W_Vᵀ W_Eᵀ."""

from transformer_lens import FactoredMatrix


def full_ov_circuit(model, layer):
    circuit = FactoredMatrix(model.W_E.detach() @ model.W_V[layer].detach(), model.W_O[layer].detach() @ model.W_U.detach())
    return circuit.T
