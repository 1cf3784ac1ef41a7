"""kl_divergence computes KL(q || p) instead of KL(p || q)."""


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return (torch.special.xlogy(q, q) - torch.special.xlogy(q, p)).sum(dim=-1)
