"""Every function in plain torch, without einops: permute, reshape, unflatten, amax over
blocks, repeat_interleave and torch.nn.functional.normalize."""

import torch
import torch.nn.functional as F


def channels_last(images: torch.Tensor) -> torch.Tensor:
    return images.permute(0, 2, 3, 1)


def transpose_images(images: torch.Tensor) -> torch.Tensor:
    return images.transpose(-1, -2)


def flatten_images(images: torch.Tensor) -> torch.Tensor:
    return images.flatten(start_dim=1)


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    return x.unflatten(-1, (n_heads, -1)).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(1, 2).flatten(start_dim=2)


def image_grid(images: torch.Tensor, rows: int) -> torch.Tensor:
    n, c, h, w = images.shape
    grid = images.reshape(rows, n // rows, c, h, w).permute(2, 0, 3, 1, 4)  # c, r, h, k, w
    return grid.reshape(c, rows * h, (n // rows) * w)


def grayscale(images: torch.Tensor) -> torch.Tensor:
    return images.mean(dim=1)


def max_pool(images: torch.Tensor, k: int) -> torch.Tensor:
    b, c, h, w = images.shape
    return images.reshape(b, c, h // k, k, w // k, k).amax(dim=(3, 5))


def group_means(x: torch.Tensor, group: int) -> torch.Tensor:
    return x.unflatten(1, (-1, group)).mean(dim=-1)


def group_differences(x: torch.Tensor, group: int) -> torch.Tensor:
    return torch.diff(group_means(x, group), dim=1)


def repeat_rows(x: torch.Tensor, k: int) -> torch.Tensor:
    return x.repeat_interleave(k, dim=0)


def upsample(images: torch.Tensor, k: int) -> torch.Tensor:
    return images.repeat_interleave(k, dim=-2).repeat_interleave(k, dim=-1)


def normalize_rows(x: torch.Tensor) -> torch.Tensor:
    return x / torch.linalg.vector_norm(x, dim=1, keepdim=True)


def cosine_similarity_matrix(x: torch.Tensor) -> torch.Tensor:
    return F.cosine_similarity(x[:, None, :], x[None, :, :], dim=-1)
