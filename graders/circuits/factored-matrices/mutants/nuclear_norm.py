"""Mutant: norm returns the sum of the singular values (the nuclear norm), not the Frobenius norm sqrt(Σ S²)."""


def norm(self):
    return self.svd()[1].sum(-1)


Factored.norm = norm  # noqa: F821 - the solution's class
