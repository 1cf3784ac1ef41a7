"""The baseline is not from the same shapes: random [d_head, d_head] matrices instead of a head's [d_model, d_model] products."""

import torch


def random_baseline(d_model, d_head, n_samples=200, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return sum(composition_score(torch.randn(d_head, d_head, generator=gen), torch.randn(d_head, d_head, generator=gen))
               for _ in range(n_samples)) / n_samples
