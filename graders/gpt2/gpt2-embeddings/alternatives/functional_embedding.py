"""A whole learner file: F.embedding for the token lookup, an arange for the positions, einsum for the unembedding."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Embed(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.W_E = nn.Parameter(torch.randn(cfg["d_vocab"], cfg["d_model"]) * cfg["init_range"])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.embedding(tokens, self.W_E)


class PosEmbed(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.W_pos = nn.Parameter(torch.randn(cfg["n_ctx"], cfg["d_model"]) * cfg["init_range"])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        return self.W_pos[positions].expand(tokens.shape[0], -1, -1)


class Unembed(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.W_U = nn.Parameter(torch.randn(cfg["d_model"], cfg["d_vocab"]) * cfg["init_range"])
        self.b_U = nn.Parameter(torch.zeros(cfg["d_vocab"]))

    def forward(self, normalized_resid_final: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bpd,dv->bpv", normalized_resid_final, self.W_U) + self.b_U
