"""entropy and cross_entropy write p * log(q), which is NaN where p = q = 0."""


def entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * torch.log(p)).sum(dim=-1)


def cross_entropy(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return -(p * torch.log(q)).sum(dim=-1)
