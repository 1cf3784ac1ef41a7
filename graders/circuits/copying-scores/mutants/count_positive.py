"""Mutant: copying_score counts the eigenvalues with a positive real part instead of weighing them by size."""


def copying_score(eigenvalues):
    return (eigenvalues.real > 0).sum(-1) / eigenvalues.shape[-1]
