"""Every function by another route: a broadcast sum instead of reshape, diag_embed, index_select,
clamp, unsqueeze, torch.std_mean, max(...).indices and the *= operator."""

import torch


def arange_grid(rows: int, cols: int) -> torch.Tensor:
    return torch.arange(rows)[:, None] * cols + torch.arange(cols)


def diag_matrix(v: torch.Tensor) -> torch.Tensor:
    return torch.diag_embed(v)


def every_other_row(x: torch.Tensor) -> torch.Tensor:
    return x.index_select(0, torch.arange(0, x.shape[0], 2, device=x.device))


def select_rows(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return torch.index_select(x, 0, idx)


def mask_negative(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(min=0)


def add_row_vector(m: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return m + v.unsqueeze(0).expand_as(m)


def outer_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a.unsqueeze(1) + b.unsqueeze(0)


def row_means(x: torch.Tensor) -> torch.Tensor:
    return x.sum(dim=1) / x.shape[1]


def normalize_columns(x: torch.Tensor) -> torch.Tensor:
    std, mean = torch.std_mean(x, dim=0, correction=0)
    return (x - mean) / std


def argmax_per_row(x: torch.Tensor) -> torch.Tensor:
    return x.max(dim=1).indices


def scale_inplace(x: torch.Tensor, factor: float) -> None:
    x *= factor


def scaled_copy(x: torch.Tensor, factor: float) -> torch.Tensor:
    return torch.mul(x, factor)
