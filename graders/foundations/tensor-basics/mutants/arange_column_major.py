"""arange_grid fills column by column."""


def arange_grid(rows: int, cols: int) -> torch.Tensor:
    return torch.arange(rows * cols).reshape(cols, rows).T
