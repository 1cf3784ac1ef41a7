"""Mutant: most_attended_position takes the argmax over the query axis instead of the key axis."""

import math

import torch

from mi_exercise.models.induction import load_induction_model


def load_model(device: str = "cpu"):
    return load_induction_model(device)


def model_shape(model) -> dict:
    cfg = model.cfg
    return {name: int(getattr(cfg, name)) for name in ("n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx")}


def attention_pattern(model, tokens: torch.Tensor, layer: int) -> torch.Tensor:
    _, cache = model.run_with_cache(tokens)
    return cache[f"blocks.{layer}.attn.hook_pattern"]


def cached_qk(model, tokens: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    _, cache = model.run_with_cache(tokens)
    return cache[f"blocks.{layer}.attn.hook_q"], cache[f"blocks.{layer}.attn.hook_k"]


def pattern_from_qk(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
    n_q, n_k = q.shape[1], k.shape[1]
    mask = torch.triu(torch.ones(n_q, n_k, dtype=torch.bool, device=q.device), diagonal=1)
    return scores.masked_fill(mask, float("-inf")).softmax(dim=-1)


def most_attended_position(pattern: torch.Tensor) -> torch.Tensor:
    return pattern.argmax(dim=-2)
