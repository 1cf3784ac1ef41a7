"""sample_gaussian scales the standard normal by the variance sigma^2 instead of sigma."""


def sample_gaussian(mu: torch.Tensor, sigma: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator(device=mu.device).manual_seed(seed)
    z = torch.randn(n, mu.shape[0], generator=g, device=mu.device, dtype=mu.dtype)
    return mu + sigma**2 * z
