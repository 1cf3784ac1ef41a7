"""Tensor basics: creation, indexing, broadcasting, reductions, in place vs copy.

Fill in each function, then run `mi-exercise check tensor-basics`.
Shapes are written in brackets: x [rows, cols] is a 2-D tensor with `rows` rows.
Keep results on the device of the inputs (use device=x.device when you create a tensor).
"""

import torch


def arange_grid(rows: int, cols: int) -> torch.Tensor:
    """Return an int64 tensor [rows, cols] holding 0, 1, 2, ... row by row.

    arange_grid(2, 3) == tensor([[0, 1, 2], [3, 4, 5]])
    """
    raise NotImplementedError("arange_grid")


def diag_matrix(v: torch.Tensor) -> torch.Tensor:
    """Return a square matrix [n, n] with v [n] on its diagonal and zeros elsewhere
    (same dtype and device as v)."""
    raise NotImplementedError("diag_matrix")


def every_other_row(x: torch.Tensor) -> torch.Tensor:
    """Return rows 0, 2, 4, ... of x [rows, cols]."""
    raise NotImplementedError("every_other_row")


def select_rows(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Return the rows of x [rows, cols] listed in idx [k] (int64), in that order: [k, cols]."""
    raise NotImplementedError("select_rows")


def mask_negative(x: torch.Tensor) -> torch.Tensor:
    """Return a copy of x with every negative entry replaced by 0. Do not change x."""
    raise NotImplementedError("mask_negative")


def add_row_vector(m: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Add v [cols] to every row of m [rows, cols]."""
    raise NotImplementedError("add_row_vector")


def outer_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Return s [len(a), len(b)] with s[i, j] = a[i] + b[j]."""
    raise NotImplementedError("outer_sum")


def row_means(x: torch.Tensor) -> torch.Tensor:
    """Return the mean of each row of x [rows, cols]: shape [rows]."""
    raise NotImplementedError("row_means")


def normalize_columns(x: torch.Tensor) -> torch.Tensor:
    """Return x [rows, cols] with each column shifted to mean 0 and scaled to standard
    deviation 1 (the population standard deviation: divide by rows, not rows - 1). A constant
    column has standard deviation 0 and gives NaN (0 / 0); no test uses one."""
    raise NotImplementedError("normalize_columns")


def argmax_per_row(x: torch.Tensor) -> torch.Tensor:
    """Return the column index of the largest entry in each row of x [rows, cols] (int64, [rows])."""
    raise NotImplementedError("argmax_per_row")


def scale_inplace(x: torch.Tensor, factor: float) -> None:
    """Multiply x by factor in place (change x itself) and return None."""
    raise NotImplementedError("scale_inplace")


def scaled_copy(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Return x * factor as a new tensor; x itself must not change."""
    raise NotImplementedError("scaled_copy")
