"""Mutant: copying_score uses |λ| in the numerator as well (Σ|λ| / Σ|λ|), so every head scores 1."""


def copying_score(eigenvalues):
    return eigenvalues.abs().sum(-1) / eigenvalues.abs().sum(-1)
