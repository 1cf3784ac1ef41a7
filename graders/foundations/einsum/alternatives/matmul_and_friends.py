"""Every function without einsum: diagonal, @, torch.outer, bmm, broadcasting and sums."""

import torch


def trace(a: torch.Tensor) -> torch.Tensor:
    return a.diagonal().sum()


def mat_vec(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return a @ v


def mat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.matmul(a, b)


def inner(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.dot(u, v)


def outer(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.outer(u, v)


def batched_mat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.bmm(a, b)


def batched_inner(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u * v).sum(dim=-1)


def bilinear(x: torch.Tensor, w: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((x @ w) * y).sum(dim=-1)


def attention_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    # [b, q, h, d] -> [b, h, q, d] @ [b, h, d, k]
    return q.transpose(1, 2) @ k.permute(0, 2, 3, 1)


def attention_output(pattern: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # [b, h, q, k] @ [b, h, k, d] -> [b, h, q, d] -> [b, q, h, d]
    return (pattern @ v.transpose(1, 2)).transpose(1, 2)
