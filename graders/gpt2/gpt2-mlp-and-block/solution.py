"""GPT-2 from scratch, part 4: the MLP and the transformer block.

The reference solution.
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
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


class MLP(nn.Module):
    """W_in [d_model, d_mlp], b_in [d_mlp], W_out [d_mlp, d_model], b_out [d_model]."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.W_in = nn.Parameter(torch.empty(cfg["d_model"], cfg["d_mlp"]))
        self.W_out = nn.Parameter(torch.empty(cfg["d_mlp"], cfg["d_model"]))
        nn.init.normal_(self.W_in, std=cfg["init_range"])
        nn.init.normal_(self.W_out, std=cfg["init_range"])
        self.b_in = nn.Parameter(torch.zeros(cfg["d_mlp"]))
        self.b_out = nn.Parameter(torch.zeros(cfg["d_model"]))

    def forward(self, normalized_resid_mid: torch.Tensor) -> torch.Tensor:
        """normalized_resid_mid [batch, seq, d_model] -> mlp output [batch, seq, d_model]."""
        return gelu_new(normalized_resid_mid @ self.W_in + self.b_in) @ self.W_out + self.b_out


class TransformerBlock(nn.Module):
    """Pre-LayerNorm block: ln1, attn, ln2, mlp (submodules with these names)."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.ln1 = LayerNorm(cfg)
        self.attn = Attention(cfg)
        self.ln2 = LayerNorm(cfg)
        self.mlp = MLP(cfg)

    def forward(self, resid_pre: torch.Tensor) -> torch.Tensor:
        """resid_pre [batch, seq, d_model] -> resid_post [batch, seq, d_model]."""
        resid_mid = resid_pre + self.attn(self.ln1(resid_pre))
        return resid_mid + self.mlp(self.ln2(resid_mid))
