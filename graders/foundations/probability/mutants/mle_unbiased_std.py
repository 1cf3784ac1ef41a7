"""gaussian_mle uses the sample (n - 1) standard deviation instead of the MLE (divide by n)."""


def gaussian_mle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mu = x.mean(dim=0)
    sigma = x.std(dim=0)
    return mu, sigma
