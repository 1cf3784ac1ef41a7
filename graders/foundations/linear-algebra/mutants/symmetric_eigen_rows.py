"""symmetric_eigen returns the eigenvectors as rows (transposed) instead of columns."""


def symmetric_eigen(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    eigenvalues, eigenvectors = torch.linalg.eigh(s)
    return eigenvalues, eigenvectors.T
