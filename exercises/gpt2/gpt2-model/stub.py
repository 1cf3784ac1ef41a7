"""GPT-2 from scratch, part 5: the whole model.

Fill in each function and method, then run `mi-exercise check gpt2-model`.
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
from gpt2_embeddings import Embed, PosEmbed, Unembed  # yours, from part 2
from gpt2_mlp_and_block import TransformerBlock  # yours, from part 4


class GPT2(nn.Module):
    """The whole model: embed, pos_embed, blocks (an nn.ModuleList of n_layers TransformerBlocks),
    ln_final, unembed (submodules with these names)."""

    def __init__(self, cfg: dict):
        super().__init__()
        raise NotImplementedError("GPT2.__init__")

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, seq] (int64) -> logits [batch, seq, d_vocab]."""
        raise NotImplementedError("GPT2.forward")
