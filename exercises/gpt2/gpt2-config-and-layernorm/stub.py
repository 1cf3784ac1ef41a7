"""GPT-2 from scratch, part 1: the config and LayerNorm.

Fill in each function and method, then run `mi-exercise check gpt2-config-and-layernorm`.
Shapes are written in brackets: x [batch, seq, d_model].
"""

import math

import torch
import torch.nn as nn


GPT2_SMALL = {
    # Fill in GPT-2 small's sizes: d_model, n_heads, d_head, d_mlp, n_layers, n_ctx, d_vocab,
    # layer_norm_eps (1e-5) and init_range (0.02). See the page for what each one is.
}


def make_config(**overrides) -> dict:
    """Return a new config dict: GPT2_SMALL with the given keys replaced.

    make_config() is GPT-2 small; make_config(d_model=64, n_heads=4) changes two sizes.
    A key that GPT2_SMALL does not have raises ValueError naming it. GPT2_SMALL itself must not change.
    """
    raise NotImplementedError("make_config")


class LayerNorm(nn.Module):
    """LayerNorm over the last dimension, with a learned scale w and shift b (both [d_model])."""

    def __init__(self, cfg: dict):
        super().__init__()
        # Create self.w (ones) and self.b (zeros) as nn.Parameter of shape [d_model],
        # and keep cfg["layer_norm_eps"].
        raise NotImplementedError("LayerNorm.__init__")

    def forward(self, residual: torch.Tensor) -> torch.Tensor:
        """residual [batch, seq, d_model] -> normalized [batch, seq, d_model]."""
        raise NotImplementedError("LayerNorm.forward")
