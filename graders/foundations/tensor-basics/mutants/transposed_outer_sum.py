"""outer_sum with a and b swapped: s[i, j] = b[i] + a[j]."""


def outer_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return b[:, None] + a[None, :]
