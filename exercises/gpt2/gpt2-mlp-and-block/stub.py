"""GPT-2 from scratch, part 4: the MLP and the transformer block.

Fill in each function and method, then run `mi-exercise check gpt2-mlp-and-block`.
Shapes are written in brackets: x [batch, seq, d_model].
"""

import math

import torch
import torch.nn as nn


# ---------------------------------------------------------------------------------------------
# Your own parts from the earlier exercises, imported from your files beside this one. When
# this exercise is checked, the grader puts its reference versions under these names, so
# only the new part below is graded; the last exercise runs your own parts together.
# ---------------------------------------------------------------------------------------------

from gpt2_config_and_layernorm import LayerNorm  # yours, from part 1
from gpt2_attention import Attention  # yours, from part 3


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's GELU, the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    raise NotImplementedError("gelu_new")


class MLP(nn.Module):
    """W_in [d_model, d_mlp], b_in [d_mlp], W_out [d_mlp, d_model], b_out [d_model]."""

    def __init__(self, cfg: dict):
        super().__init__()
        # Weights with std cfg["init_range"], biases zero.
        raise NotImplementedError("MLP.__init__")

    def forward(self, normalized_resid_mid: torch.Tensor) -> torch.Tensor:
        """normalized_resid_mid [batch, seq, d_model] -> mlp output [batch, seq, d_model]."""
        raise NotImplementedError("MLP.forward")


class TransformerBlock(nn.Module):
    """Pre-LayerNorm block: ln1, attn, ln2, mlp (submodules with these names)."""

    def __init__(self, cfg: dict):
        super().__init__()
        # self.ln1, self.attn, self.ln2, self.mlp (LayerNorm, Attention, LayerNorm, MLP).
        raise NotImplementedError("TransformerBlock.__init__")

    def forward(self, resid_pre: torch.Tensor) -> torch.Tensor:
        """resid_pre [batch, seq, d_model] -> resid_post [batch, seq, d_model]."""
        raise NotImplementedError("TransformerBlock.forward")
