"""Reference solution for linear-algebra."""

import torch


def change_of_basis(v: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    return torch.linalg.solve(basis, v.T).T


def coordinate_norms(v: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    return change_of_basis(v, basis).norm(dim=-1)


def is_orthonormal(b: torch.Tensor, atol: float = 1e-6) -> bool:
    gram = b.T @ b
    eye = torch.eye(b.shape[1], dtype=b.dtype, device=b.device)
    return bool(((gram - eye).abs() <= atol).all())


def project_onto_subspace(v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    coeffs = torch.linalg.solve(a.T @ a, a.T @ v.T)  # [k, n]
    return (a @ coeffs).T


def gram_schmidt(a: torch.Tensor) -> torch.Tensor:
    columns = []
    for j in range(a.shape[1]):
        u = a[:, j].clone()
        for q in columns:
            u = u - (q @ u) * q
        columns.append(u / u.norm())
    return torch.stack(columns, dim=1)


def low_rank_approx(m: torch.Tensor, r: int) -> torch.Tensor:
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    return u[:, :r] @ torch.diag(s[:r]) @ vh[:r, :]


def eckart_young_error(m: torch.Tensor, r: int) -> torch.Tensor:
    s = torch.linalg.svdvals(m)
    return (s[r:] ** 2).sum().sqrt()


def symmetric_eigen(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    eigenvalues, eigenvectors = torch.linalg.eigh(s)
    return eigenvalues, eigenvectors
