"""outer returns v u^T instead of u v^T ('i,j->ji')."""


def outer(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.einsum("i,j->ji", u, v)
