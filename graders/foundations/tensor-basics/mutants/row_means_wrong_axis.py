"""Mutant: row_means averages the columns instead of the rows."""

import torch


def arange_grid(rows: int, cols: int) -> torch.Tensor:
    return torch.arange(rows * cols).reshape(rows, cols)


def diag_matrix(v: torch.Tensor) -> torch.Tensor:
    return torch.diag(v)


def every_other_row(x: torch.Tensor) -> torch.Tensor:
    return x[::2]


def select_rows(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return x[idx]


def mask_negative(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x < 0, torch.zeros_like(x), x)


def add_row_vector(m: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return m + v


def outer_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[:, None] + b[None, :]


def row_means(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=0)


def normalize_columns(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)


def argmax_per_row(x: torch.Tensor) -> torch.Tensor:
    return x.argmax(dim=-1)


def scale_inplace(x: torch.Tensor, factor: float) -> None:
    x.mul_(factor)


def scaled_copy(x: torch.Tensor, factor: float) -> torch.Tensor:
    return x * factor
