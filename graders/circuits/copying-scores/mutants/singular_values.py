"""Mutant: ov_eigenvalues returns the singular values of each OV circuit (real, all positive) instead of its eigenvalues."""

import torch
from transformer_lens import FactoredMatrix


def ov_eigenvalues(model):
    W_E, W_U = model.W_E.detach(), model.W_U.detach()
    return torch.stack([FactoredMatrix(W_E @ model.W_V[layer].detach(), model.W_O[layer].detach() @ W_U).S
                        for layer in range(model.cfg.n_layers)])
