"""mask_negative changes x in place."""


def mask_negative(x: torch.Tensor) -> torch.Tensor:
    x[x < 0] = 0
    return x
