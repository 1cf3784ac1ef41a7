"""is_orthonormal uses torch.allclose(b.T @ b, I, atol=atol), whose relative tolerance (rtol * |I| =
1e-5 on the diagonal) breaks the docstring's absolute rule."""


def is_orthonormal(b: torch.Tensor, atol: float = 1e-6) -> bool:
    eye = torch.eye(b.shape[1], dtype=b.dtype, device=b.device)
    return torch.allclose(b.T @ b, eye, atol=atol)
