"""Probability: Gaussian likelihoods, maximum likelihood, entropy, cross-entropy, KL, sampling.

Fill in each function, then run `mi-exercise check probability`.
Shapes are written in brackets: p [..., k] is a tensor whose last dimension holds k
probabilities and whose leading dimensions (any number, maybe none) are a batch.
Work in natural logarithms (nats). Keep results on the device of the inputs.
"""

import torch


def gaussian_log_prob(x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Return log N(x; mu, sigma^2), the log density of a normal distribution with mean mu and
    standard deviation sigma (> 0), elementwise.

    x, mu and sigma broadcast against each other (x [n, d], mu [d], sigma [d] -> [n, d]).
    Must stay finite for points far out in the tails (x - mu = 1000 * sigma).
    """
    raise NotImplementedError("gaussian_log_prob")


def gaussian_mle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the maximum-likelihood estimates (mu [d], sigma [d]) of a normal distribution
    fitted to each column of the samples x [n, d]."""
    raise NotImplementedError("gaussian_mle")


def entropy(p: torch.Tensor) -> torch.Tensor:
    """Return H(p) = -sum_i p_i log p_i over the last dimension: p [..., k] -> [...].
    Entries with p_i = 0 contribute 0 (the limit of p log p)."""
    raise NotImplementedError("entropy")


def cross_entropy(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Return H(p, q) = -sum_i p_i log q_i over the last dimension: p, q [..., k] -> [...].
    Entries with p_i = 0 contribute 0, even where q_i = 0 too."""
    raise NotImplementedError("cross_entropy")


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Return KL(p || q) = sum_i p_i (log p_i - log q_i) over the last dimension:
    p, q [..., k] -> [...]. Entries with p_i = 0 contribute 0."""
    raise NotImplementedError("kl_divergence")


def sample_categorical(weights: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """Draw n independent samples from the categorical distribution whose probabilities are
    proportional to weights [k] (non-negative, at least one positive, NOT necessarily summing
    to 1). Return int64 [n] with values in 0..k-1, on weights' device.

    Use only a generator you build from the seed, torch.Generator(device=weights.device)
    .manual_seed(seed), so the same seed always gives the same samples; implement it with
    uniform draws and the cumulative distribution (inverse-CDF sampling).
    """
    raise NotImplementedError("sample_categorical")


def sample_gaussian(mu: torch.Tensor, sigma: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """Draw n independent samples from N(mu, diag(sigma^2)) for mu [d], sigma [d] (standard
    deviations, > 0). Return [n, d] with mu's dtype, on mu's device, using only a generator
    built from the seed (same seed -> same samples)."""
    raise NotImplementedError("sample_gaussian")
