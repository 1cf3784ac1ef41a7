"""Reference solution for factored-matrices."""

import torch


class Factored:
    """The matrix A @ B kept as its two factors, A [..., ldim, mdim] and B [..., mdim, rdim]."""

    def __init__(self, A: torch.Tensor, B: torch.Tensor):
        if A.ndim < 2 or B.ndim < 2 or A.shape[-1] != B.shape[-2]:
            raise ValueError(f"A [..., ldim, mdim] and B [..., mdim, rdim] must share mdim; got A {list(A.shape)} "
                             f"and B {list(B.shape)}")
        lead = torch.broadcast_shapes(A.shape[:-2], B.shape[:-2])
        self.A = A.broadcast_to(*lead, *A.shape[-2:])
        self.B = B.broadcast_to(*lead, *B.shape[-2:])

    @property
    def shape(self) -> torch.Size:
        return torch.Size((*self.A.shape[:-1], self.B.shape[-1]))

    @property
    def AB(self) -> torch.Tensor:
        return self.A @ self.B

    @property
    def BA(self) -> torch.Tensor:
        if self.A.shape[-2] != self.B.shape[-1]:
            raise ValueError(f"BA needs a square matrix (ldim == rdim), this one is {list(self.shape)}")
        return self.B @ self.A

    @property
    def T(self) -> "Factored":
        return Factored(self.B.transpose(-2, -1), self.A.transpose(-2, -1))

    def matmul(self, other) -> "Factored":
        if isinstance(other, Factored):
            return Factored(self.A, (self.B @ other.A) @ other.B)
        return Factored(self.A, self.B @ other)

    def rmatmul(self, other: torch.Tensor) -> "Factored":
        return Factored(other @ self.A, self.B)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return self.rmatmul(other)

    def svd(self):
        Ua, Sa, Vha = torch.linalg.svd(self.A, full_matrices=False)
        Ub, Sb, Vhb = torch.linalg.svd(self.B, full_matrices=False)
        middle = Sa[..., :, None] * (Vha @ Ub) * Sb[..., None, :]  # [..., mdim, mdim]
        Um, S, Vhm = torch.linalg.svd(middle)
        return Ua @ Um, S, Vhb.transpose(-2, -1) @ Vhm.transpose(-2, -1)

    @property
    def eigenvalues(self) -> torch.Tensor:
        return torch.linalg.eigvals(self.BA)

    def norm(self) -> torch.Tensor:
        return (self.svd()[1] ** 2).sum(-1).sqrt()
