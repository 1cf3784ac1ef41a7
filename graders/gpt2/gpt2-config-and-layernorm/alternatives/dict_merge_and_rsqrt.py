"""A whole learner file: the config merged with {**GPT2_SMALL, **overrides}, LayerNorm with rsqrt and a hand-written variance."""

import torch
import torch.nn as nn

GPT2_SMALL = dict(d_model=768, n_heads=12, d_head=64, d_mlp=3072, n_layers=12, n_ctx=1024, d_vocab=50257,
                  layer_norm_eps=1e-5, init_range=0.02)


def make_config(**overrides) -> dict:
    for key in overrides:
        if key not in GPT2_SMALL:
            raise ValueError(f"GPT-2's config has no key {key!r}")
    return {**GPT2_SMALL, **overrides}


class LayerNorm(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.w = nn.Parameter(torch.ones(cfg["d_model"]))
        self.b = nn.Parameter(torch.zeros(cfg["d_model"]))

    def forward(self, residual: torch.Tensor) -> torch.Tensor:
        centred = residual - residual.mean(-1, keepdim=True)
        var = (centred ** 2).mean(-1, keepdim=True)
        return centred * torch.rsqrt(var + self.cfg["layer_norm_eps"]) * self.w + self.b
