"""project_onto_subspace uses a @ a.T as the projector, forgetting (a.T a)^-1: right only when the
columns of a are orthonormal."""


def project_onto_subspace(v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    coeffs = a.T @ v.T  # [k, n]
    return (a @ coeffs).T
