"""select_submatrix indexes x[rows, cols], which pairs the indices up (a diagonal) instead of crossing
them."""


def select_submatrix(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    return x[rows, cols]
