"""GPT-2 from scratch, part 1: the config and LayerNorm.

Mutant: GPT2_SMALL has GPT-3's context length, 2048, instead of GPT-2's 1024.
"""

import math

import torch
import torch.nn as nn


GPT2_SMALL = {
    "d_model": 768,  # width of the residual stream
    "n_heads": 12,  # attention heads per layer
    "d_head": 64,  # width of one head's queries, keys and values
    "d_mlp": 3072,  # hidden width of the MLP
    "n_layers": 12,  # transformer blocks
    "n_ctx": 2048,  # longest sequence (number of positional embeddings)
    "d_vocab": 50257,  # tokens in the vocabulary
    "layer_norm_eps": 1e-5,  # the epsilon added to the variance in LayerNorm
    "init_range": 0.02,  # standard deviation of the initial weights
}


def make_config(**overrides) -> dict:
    """Return a new config dict: GPT2_SMALL with the given keys replaced.

    make_config() is GPT-2 small; make_config(d_model=64, n_heads=4) changes two sizes.
    A key that GPT2_SMALL does not have raises ValueError naming it. GPT2_SMALL itself must not change.
    """
    unknown = sorted(set(overrides) - set(GPT2_SMALL))
    if unknown:
        raise ValueError(f"unknown config keys {unknown}; known: {sorted(GPT2_SMALL)}")
    cfg = dict(GPT2_SMALL)
    cfg.update(overrides)
    return cfg


class LayerNorm(nn.Module):
    """LayerNorm over the last dimension, with a learned scale w and shift b (both [d_model])."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.eps = cfg["layer_norm_eps"]
        self.w = nn.Parameter(torch.ones(cfg["d_model"]))
        self.b = nn.Parameter(torch.zeros(cfg["d_model"]))

    def forward(self, residual: torch.Tensor) -> torch.Tensor:
        """residual [batch, seq, d_model] -> normalized [batch, seq, d_model]."""
        mean = residual.mean(dim=-1, keepdim=True)
        var = residual.var(dim=-1, keepdim=True, unbiased=False)
        return (residual - mean) / torch.sqrt(var + self.eps) * self.w + self.b
