"""Mutant: eigenvalues takes the eigenvalues of AB (ldim of them, mostly 0, and the full matrix formed) instead of BA."""

import torch


def _eigenvalues(self) -> torch.Tensor:
    return torch.linalg.eigvals(self.A @ self.B)


Factored.eigenvalues = property(_eigenvalues)  # noqa: F821 - the solution's class
