"""symmetric_eigen uses the SVD: singular values are |eigenvalues|, so negative eigenvalues come out
positive."""


def symmetric_eigen(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    eigenvectors, eigenvalues, _ = torch.linalg.svd(s)
    return eigenvalues, eigenvectors
