"""A whole learner file: F.gelu(approximate='tanh'), einsum in the MLP, and the block written with one temporary per sublayer."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt2_attention import Attention
from gpt2_config_and_layernorm import LayerNorm


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


class MLP(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        d, m, std = cfg["d_model"], cfg["d_mlp"], cfg["init_range"]
        self.W_in = nn.Parameter(torch.randn(d, m) * std)
        self.b_in = nn.Parameter(torch.zeros(m))
        self.W_out = nn.Parameter(torch.randn(m, d) * std)
        self.b_out = nn.Parameter(torch.zeros(d))

    def forward(self, normalized_resid_mid: torch.Tensor) -> torch.Tensor:
        hidden = gelu_new(torch.einsum("bpd,dm->bpm", normalized_resid_mid, self.W_in) + self.b_in)
        return torch.einsum("bpm,md->bpd", hidden, self.W_out) + self.b_out


class TransformerBlock(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.ln1, self.attn = LayerNorm(cfg), Attention(cfg)
        self.ln2, self.mlp = LayerNorm(cfg), MLP(cfg)

    def forward(self, resid_pre: torch.Tensor) -> torch.Tensor:
        attn_out = self.attn(self.ln1(resid_pre))
        resid_mid = resid_pre + attn_out
        mlp_out = self.mlp(self.ln2(resid_mid))
        return resid_mid + mlp_out
