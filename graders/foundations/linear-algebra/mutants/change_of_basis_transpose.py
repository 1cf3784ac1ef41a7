"""change_of_basis uses basis.T as the inverse (c = v @ basis), which is right only for an orthonormal
basis."""


def change_of_basis(v: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    return v @ basis
