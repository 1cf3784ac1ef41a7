"""mat_vec contracts over the rows of a ('ji,j->i'): it computes a^T v."""


def mat_vec(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ji,j->i", a, v)
