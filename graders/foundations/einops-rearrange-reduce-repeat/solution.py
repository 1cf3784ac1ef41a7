"""Reference solution for einops-rearrange-reduce-repeat."""

import torch
from einops import rearrange, reduce, repeat


def channels_last(images: torch.Tensor) -> torch.Tensor:
    return rearrange(images, "b c h w -> b h w c")


def transpose_images(images: torch.Tensor) -> torch.Tensor:
    return rearrange(images, "b c h w -> b c w h")


def flatten_images(images: torch.Tensor) -> torch.Tensor:
    return rearrange(images, "b c h w -> b (c h w)")


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    return rearrange(x, "b s (heads d) -> b heads s d", heads=n_heads)


def merge_heads(z: torch.Tensor) -> torch.Tensor:
    return rearrange(z, "b heads s d -> b s (heads d)")


def image_grid(images: torch.Tensor, rows: int) -> torch.Tensor:
    return rearrange(images, "(r k) c h w -> c (r h) (k w)", r=rows)


def grayscale(images: torch.Tensor) -> torch.Tensor:
    return reduce(images, "b c h w -> b h w", "mean")


def max_pool(images: torch.Tensor, k: int) -> torch.Tensor:
    return reduce(images, "b c (h kh) (w kw) -> b c h w", "max", kh=k, kw=k)


def group_means(x: torch.Tensor, group: int) -> torch.Tensor:
    return reduce(x, "b (n g) -> b n", "mean", g=group)


def group_differences(x: torch.Tensor, group: int) -> torch.Tensor:
    means = reduce(x, "b (n g) -> b n", "mean", g=group)
    return means[:, 1:] - means[:, :-1]


def repeat_rows(x: torch.Tensor, k: int) -> torch.Tensor:
    return repeat(x, "n d -> (n k) d", k=k)


def upsample(images: torch.Tensor, k: int) -> torch.Tensor:
    return repeat(images, "b c h w -> b c (h kh) (w kw)", kh=k, kw=k)


def normalize_rows(x: torch.Tensor) -> torch.Tensor:
    norms = reduce(x ** 2, "n d -> n 1", "sum").sqrt()
    return x / norms


def cosine_similarity_matrix(x: torch.Tensor) -> torch.Tensor:
    unit = normalize_rows(x)
    return unit @ rearrange(unit, "n d -> d n")
