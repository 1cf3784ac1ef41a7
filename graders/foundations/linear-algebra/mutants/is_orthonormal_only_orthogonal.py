"""is_orthonormal only checks that the columns are orthogonal (off-diagonal of b.T @ b), not that they
have length 1."""


def is_orthonormal(b: torch.Tensor, atol: float = 1e-6) -> bool:
    gram = b.T @ b
    eye = torch.eye(b.shape[1], dtype=b.dtype, device=b.device)
    off_diagonal = gram - torch.diag(gram.diagonal())
    return bool((off_diagonal.abs() <= atol).all())
