"""head_means averages over dims (0, 2), batch and heads, as if z were laid out [batch, n_heads, pos,
d_head] like a pattern, instead of over batch and position."""


def head_means(z: torch.Tensor) -> torch.Tensor:
    return z.mean(dim=(0, 2))
