"""W_K and W_Q swap places: W_QK = W_K @ W_Q^T, the transpose of the QK circuit."""

import torch


def qk_ov_matrices(model):
    with torch.no_grad():
        return model.W_K @ model.W_Q.transpose(-1, -2), model.W_V @ model.W_O
