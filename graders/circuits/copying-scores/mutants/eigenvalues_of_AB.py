"""Mutant: ov_eigenvalues takes the eigenvalues of the full d_vocab x d_vocab circuit AB (formed) instead of BA."""

import torch


def ov_eigenvalues(model):
    W_E, W_U = model.W_E.detach(), model.W_U.detach()
    return torch.stack([torch.linalg.eigvals(W_E @ model.W_V[layer].detach() @ model.W_O[layer].detach() @ W_U)
                        for layer in range(model.cfg.n_layers)])
