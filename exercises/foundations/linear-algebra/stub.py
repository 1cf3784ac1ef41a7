"""Linear algebra for interpretability: bases, projections, Gram-Schmidt, SVD and eigenvectors.

Fill in each function, then run `mi-exercise check linear-algebra`.
Shapes are written in brackets. Vectors are stored as rows: v [n, d] is n vectors in R^d.
A basis or a spanning set is stored as the COLUMNS of a matrix: basis [d, d], a [d, k].
Inputs are float64 or float32; return the same dtype, on the same device.
You may use torch.linalg (solve, svd, eigh, ...), but not torch.linalg.qr for gram_schmidt.
"""

import torch


def change_of_basis(v: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Coordinates of vectors in a new basis.

    v [n, d] (standard coordinates), basis [d, d] (invertible; column j is basis vector b_j)
    -> c [n, d] with v[i] = sum_j c[i, j] * b_j, i.e. basis @ c[i] = v[i].
    """
    raise NotImplementedError("change_of_basis")


def coordinate_norms(v: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Euclidean length of each vector's coordinates in the new basis: v [n, d], basis [d, d] -> [n].
    (For an orthonormal basis this equals the length of v itself; for a general basis it does not.)"""
    raise NotImplementedError("coordinate_norms")


def is_orthonormal(b: torch.Tensor, atol: float = 1e-6) -> bool:
    """True (a Python bool) when the columns of b [d, k] are orthonormal: every column has
    length 1 and every pair is orthogonal, i.e. |b.T @ b - I| <= atol entry by entry."""
    raise NotImplementedError("is_orthonormal")


def project_onto_subspace(v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Orthogonal projection of each row of v [n, d] onto the span of the columns of a [d, k]
    (k <= d, linearly independent, NOT necessarily orthonormal) -> [n, d]."""
    raise NotImplementedError("project_onto_subspace")


def gram_schmidt(a: torch.Tensor) -> torch.Tensor:
    """Orthonormalise the columns of a [d, k] (k <= d, linearly independent), in order -> q [d, k].

    q has orthonormal columns, q[:, :j] spans the same space as a[:, :j] for every j, and
    q[:, j] . a[:, j] > 0 (each q_j points the same way as the part of a_j it came from).
    """
    raise NotImplementedError("gram_schmidt")


def low_rank_approx(m: torch.Tensor, r: int) -> torch.Tensor:
    """The best rank-r approximation of m [p, n] in the Frobenius norm (0 <= r <= min(p, n)): [p, n]."""
    raise NotImplementedError("low_rank_approx")


def eckart_young_error(m: torch.Tensor, r: int) -> torch.Tensor:
    """The Frobenius norm of m - low_rank_approx(m, r), computed from the singular values of m
    alone (Eckart-Young): a 0-dimensional tensor."""
    raise NotImplementedError("eckart_young_error")


def symmetric_eigen(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigen-decomposition of a real symmetric matrix s [d, d] -> (eigenvalues [d], eigenvectors [d, d]).

    Column j of eigenvectors is a unit eigenvector for eigenvalues[j]: s @ V[:, j] = eigenvalues[j] * V[:, j],
    and the columns are orthonormal. Any order and any signs are accepted. Eigenvalues may be negative.
    """
    raise NotImplementedError("symmetric_eigen")
