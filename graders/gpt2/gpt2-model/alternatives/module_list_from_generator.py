"""A whole learner file: the blocks built from a generator expression, the forward pass as a reduction over them."""

import functools

import torch
import torch.nn as nn

from gpt2_config_and_layernorm import LayerNorm
from gpt2_embeddings import Embed, PosEmbed, Unembed
from gpt2_mlp_and_block import TransformerBlock


class GPT2(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.embed, self.pos_embed = Embed(cfg), PosEmbed(cfg)
        self.blocks = nn.ModuleList(TransformerBlock(cfg) for _ in range(cfg["n_layers"]))
        self.ln_final, self.unembed = LayerNorm(cfg), Unembed(cfg)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        residual = functools.reduce(lambda x, block: block(x), self.blocks, self.embed(tokens) + self.pos_embed(tokens))
        return self.unembed(self.ln_final(residual))
