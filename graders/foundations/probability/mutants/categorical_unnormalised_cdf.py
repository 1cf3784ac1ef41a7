"""Mutant: sample_categorical builds the CDF from the raw weights without dividing by their sum."""

import math

import torch


def gaussian_log_prob(x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    z = (x - mu) / sigma
    return -0.5 * z**2 - torch.log(sigma) - 0.5 * math.log(2 * math.pi)


def gaussian_mle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mu = x.mean(dim=0)
    sigma = ((x - mu) ** 2).mean(dim=0).sqrt()
    return mu, sigma


def entropy(p: torch.Tensor) -> torch.Tensor:
    return -torch.special.xlogy(p, p).sum(dim=-1)


def cross_entropy(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return -torch.special.xlogy(p, q).sum(dim=-1)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, q)).sum(dim=-1)


def sample_categorical(weights: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator(device=weights.device).manual_seed(seed)
    cdf = torch.cumsum(weights, dim=0)
    u = torch.rand(n, generator=g, device=weights.device, dtype=cdf.dtype)
    # right=True: u == cdf[i] goes past class i, so a class of weight 0 is never picked
    idx = torch.searchsorted(cdf, u, right=True)
    # rounding can leave cdf[-1] a hair below 1: a u above it belongs to the last class with weight
    last = int(torch.nonzero(weights).max())
    return idx.clamp(max=last)


def sample_gaussian(mu: torch.Tensor, sigma: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator(device=mu.device).manual_seed(seed)
    z = torch.randn(n, mu.shape[0], generator=g, device=mu.device, dtype=mu.dtype)
    return mu + sigma * z
