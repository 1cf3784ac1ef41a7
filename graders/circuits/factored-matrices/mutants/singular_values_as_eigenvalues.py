"""Mutant: eigenvalues returns the singular values (always real and non-negative) instead of BA's eigenvalues."""


def _eigenvalues(self):
    return self.svd()[1]


Factored.eigenvalues = property(_eigenvalues)  # noqa: F821 - the solution's class
