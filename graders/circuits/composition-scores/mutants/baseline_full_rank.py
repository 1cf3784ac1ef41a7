"""The baseline from full-rank random [d_model, d_model] matrices, not products of rank d_head like a head's W_OV and W_QK."""

import torch


def random_baseline(d_model, d_head, n_samples=200, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return sum(composition_score(torch.randn(d_model, d_model, generator=gen), torch.randn(d_model, d_model, generator=gen))
               for _ in range(n_samples)) / n_samples
