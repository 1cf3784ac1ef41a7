"""Mutant: rmatmul(y) multiplies on the right, (A @ B) @ y, instead of y @ (A @ B)."""


def rmatmul(self, other):
    return Factored(self.A, self.B @ other.transpose(-2, -1))  # noqa: F821 - the solution's class


Factored.rmatmul = rmatmul  # noqa: F821
