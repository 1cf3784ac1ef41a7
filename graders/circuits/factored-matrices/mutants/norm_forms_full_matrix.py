"""Mutant: norm forms the full matrix A @ B to take its Frobenius norm (right on small matrices, 360 GB on a large one)."""

import torch


def norm(self):
    return torch.linalg.matrix_norm(self.A @ self.B)


Factored.norm = norm  # noqa: F821 - the solution's class
