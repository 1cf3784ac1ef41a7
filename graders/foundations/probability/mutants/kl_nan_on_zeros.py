"""kl_divergence writes p * log(p / q), which is NaN where p = 0."""


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return (p * torch.log(p / q)).sum(dim=-1)
