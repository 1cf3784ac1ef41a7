"""sample_gaussian seeds the global random state (torch.manual_seed) instead of building its own
generator; it is deterministic, so only the stated rule catches it."""


def sample_gaussian(mu: torch.Tensor, sigma: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    return mu + sigma * torch.randn(n, mu.shape[0], device=mu.device, dtype=mu.dtype)
