"""Every function through another decomposition: lstsq for coordinates and projections,
Householder QR for Gram-Schmidt, the Frobenius norm of the residual for Eckart-Young, and
allclose for the orthonormality test."""

import torch


def change_of_basis(v: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    # v = c @ basis.T, so c solves basis @ c.T = v.T: lstsq is exact for an invertible basis
    return torch.linalg.lstsq(basis, v.T).solution.T


def coordinate_norms(v: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(change_of_basis(v, basis), dim=1)


def is_orthonormal(b: torch.Tensor, atol: float = 1e-6) -> bool:
    eye = torch.eye(b.shape[1], dtype=b.dtype, device=b.device)
    return torch.allclose(b.mT @ b, eye, rtol=0.0, atol=atol)


def project_onto_subspace(v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    q, _ = torch.linalg.qr(a)  # an orthonormal basis of the column space of a
    return (v @ q) @ q.T


def gram_schmidt(a: torch.Tensor) -> torch.Tensor:
    q, r = torch.linalg.qr(a)
    # QR's columns may point the other way; Gram-Schmidt's have a positive diagonal in R
    return q * torch.sign(torch.diagonal(r))


def low_rank_approx(m: torch.Tensor, r: int) -> torch.Tensor:
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    return (u[:, :r] * s[:r]) @ vh[:r]


def eckart_young_error(m: torch.Tensor, r: int) -> torch.Tensor:
    return torch.linalg.matrix_norm(m - low_rank_approx(m, r))


def symmetric_eigen(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    eigenvalues, eigenvectors = torch.linalg.eigh(s, UPLO="U")
    return eigenvalues, eigenvectors
