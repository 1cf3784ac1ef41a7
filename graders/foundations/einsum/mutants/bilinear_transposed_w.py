"""bilinear uses w transposed ('bi,ji,bj->b'): x^T W^T y."""


def bilinear(x: torch.Tensor, w: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bi,ji,bj->b", x, w, y)
