"""Eigenvalues of AB and BA confused with the matrices: W_QK = W_Q^T @ W_K and W_OV = W_O @ W_V, the d_head x d_head products."""

import torch


def qk_ov_matrices(model):
    with torch.no_grad():
        return model.W_Q.transpose(-1, -2) @ model.W_K, model.W_O @ model.W_V
