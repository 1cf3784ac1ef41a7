"""Mutant: ov_eigenvalues leaves out W_E and W_U: the eigenvalues of W_O W_V, not of the full circuit W_E W_V W_O W_U."""

import torch


def ov_eigenvalues(model):
    return torch.stack([torch.linalg.eigvals(model.W_O[layer].detach() @ model.W_V[layer].detach())
                        for layer in range(model.cfg.n_layers)])
