"""Mutant: mat_mul writes the output indices in the wrong order ('ij,jk->ki'): it returns (a @ b).T."""

import torch


def trace(a: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ii->", a)


def mat_vec(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,j->i", a, v)


def mat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,jk->ki", a, b)


def inner(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.einsum("i,i->", u, v)


def outer(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.einsum("i,j->ij", u, v)


def batched_mat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bij,bjk->bik", a, b)


def batched_inner(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bi,bi->b", u, v)


def bilinear(x: torch.Tensor, w: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bi,ij,bj->b", x, w, y)


def attention_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bqhd,bkhd->bhqk", q, k)


def attention_output(pattern: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bhqk,bkhd->bqhd", pattern, v)
