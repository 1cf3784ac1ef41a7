"""sample_categorical ignores the seed and draws from the global random state."""


def sample_categorical(weights: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator(device=weights.device).manual_seed(seed)
    cdf = torch.cumsum(weights / weights.sum(), dim=0)
    u = torch.rand(n, device=weights.device, dtype=cdf.dtype)
    # right=True: u == cdf[i] goes past class i, so a class of weight 0 is never picked
    idx = torch.searchsorted(cdf, u, right=True)
    # rounding can leave cdf[-1] a hair below 1: a u above it belongs to the last class with weight
    last = int(torch.nonzero(weights).max())
    return idx.clamp(max=last)
