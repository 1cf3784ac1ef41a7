"""gaussian_log_prob computes the density and takes its log, which underflows to -inf in the tails."""


def gaussian_log_prob(x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    density = torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    return torch.log(density)
