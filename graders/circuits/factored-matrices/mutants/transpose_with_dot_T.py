"""Mutant: T transposes the factors with .T, which on a batched factor reverses every axis, the head axis too."""


def _T(self):
    return Factored(self.B.T, self.A.T)  # noqa: F821 - the solution's class


Factored.T = property(_T)  # noqa: F821
