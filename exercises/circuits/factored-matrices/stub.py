"""Factored matrices: keep a low-rank product A @ B as its two factors.

Fill in each method of Factored, then run `mi-exercise check factored-matrices`.

A [..., ldim, mdim] and B [..., mdim, rdim], with mdim small (a head's d_head): A @ B is
[..., ldim, rdim] but has rank at most mdim. Nothing here may form A @ B except the AB property
itself: the grader hands you a 300000 x 300000 matrix of rank 6 (360 GB if formed).
Leading dims (one per head, say) broadcast as they do for @.

    from transformer_lens import FactoredMatrix   # the library's version, to compare with
    f = Factored(torch.randn(5, 2), torch.randn(2, 5))
    f.AB.shape, f.eigenvalues, f.norm()
"""

import torch


class Factored:
    """The matrix A @ B kept as its factors A [..., ldim, mdim] and B [..., mdim, rdim]."""

    def __init__(self, A: torch.Tensor, B: torch.Tensor):
        """Keep A and B (as self.A, self.B, with their leading dims broadcast to each other).
        Raises ValueError when A's last size differs from B's second-to-last."""
        raise NotImplementedError("Factored.__init__")

    @property
    def shape(self) -> torch.Size:
        """The shape A @ B would have: (*leading, ldim, rdim)."""
        raise NotImplementedError("Factored.shape")

    @property
    def AB(self) -> torch.Tensor:
        """The full matrix A @ B [..., ldim, rdim] (the only place it is ever formed)."""
        raise NotImplementedError("Factored.AB")

    @property
    def BA(self) -> torch.Tensor:
        """B @ A [..., mdim, mdim]; raises ValueError unless A @ B is square (ldim == rdim)."""
        raise NotImplementedError("Factored.BA")

    @property
    def T(self) -> "Factored":
        """The transpose of A @ B [..., rdim, ldim], as a Factored."""
        raise NotImplementedError("Factored.T")

    def matmul(self, other) -> "Factored":
        """(A @ B) @ other as a Factored; other is a tensor [..., rdim, k] or a Factored [..., rdim, k]."""
        raise NotImplementedError("Factored.matmul")

    def rmatmul(self, other: torch.Tensor) -> "Factored":
        """other @ (A @ B) as a Factored; other is a tensor [..., k, ldim]."""
        raise NotImplementedError("Factored.rmatmul")

    def __matmul__(self, other):  # f @ x
        return self.matmul(other)

    def __rmatmul__(self, other):  # x @ f
        return self.rmatmul(other)

    def svd(self):
        """(U [..., ldim, mdim], S [..., mdim], V [..., rdim, mdim]) with A @ B == U @ diag(S) @ V.T,
        S in decreasing order (TransformerLens's convention: V, not Vᵀ). Assumes mdim <= ldim, rdim."""
        raise NotImplementedError("Factored.svd")

    @property
    def eigenvalues(self) -> torch.Tensor:
        """The mdim eigenvalues of A @ B that can be nonzero, complex [..., mdim] (square A @ B only)."""
        raise NotImplementedError("Factored.eigenvalues")

    def norm(self) -> torch.Tensor:
        """The Frobenius norm of A @ B, sqrt(sum of its squared entries): [...] (one per leading index)."""
        raise NotImplementedError("Factored.norm")
