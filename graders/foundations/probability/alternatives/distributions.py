"""Every function through library calls: Normal.log_prob, torch.std_mean, p log q masked with
where instead of xlogy, KL as cross-entropy minus entropy, torch.multinomial and torch.normal."""

import torch
from torch.distributions import Normal


def gaussian_log_prob(x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    return Normal(mu, sigma).log_prob(x)


def gaussian_mle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    std, mean = torch.std_mean(x, dim=0, correction=0)
    return mean, std


def _plogq(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    # 0 log 0 = 0: only the terms where p > 0 count
    return torch.where(p > 0, p * torch.log(torch.where(p > 0, q, torch.ones_like(q))), torch.zeros_like(p))


def entropy(p: torch.Tensor) -> torch.Tensor:
    return -_plogq(p, p).sum(dim=-1)


def cross_entropy(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return -_plogq(p, q).sum(dim=-1)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return cross_entropy(p, q) - entropy(p)


def sample_categorical(weights: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator(device=weights.device).manual_seed(seed)
    return torch.multinomial(weights, n, replacement=True, generator=g)


def sample_gaussian(mu: torch.Tensor, sigma: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator(device=mu.device).manual_seed(seed)
    return torch.normal(mu.expand(n, -1), sigma.expand(n, -1), generator=g)
