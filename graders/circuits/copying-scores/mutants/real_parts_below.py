"""Mutant: copying_score divides by Σ|Re λ| instead of Σ|λ|, so rotating (complex) eigenvalues inflate the score."""


def copying_score(eigenvalues):
    return eigenvalues.sum(-1).real / eigenvalues.real.abs().sum(-1)
