"""GPT-2 from scratch, part 2: token embedding, positional embedding, unembedding.

Mutant: PosEmbed indexes W_pos by the token ids instead of by position.
"""

import math

import torch
import torch.nn as nn


class Embed(nn.Module):
    """Token embedding: W_E [d_vocab, d_model]."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.W_E = nn.Parameter(torch.empty(cfg["d_vocab"], cfg["d_model"]))
        nn.init.normal_(self.W_E, std=cfg["init_range"])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, seq] (int64) -> embeddings [batch, seq, d_model]."""
        return self.W_E[tokens]


class PosEmbed(nn.Module):
    """Learned positional embedding: W_pos [n_ctx, d_model]."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.W_pos = nn.Parameter(torch.empty(cfg["n_ctx"], cfg["d_model"]))
        nn.init.normal_(self.W_pos, std=cfg["init_range"])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, seq] -> positional embeddings [batch, seq, d_model]: row p of W_pos at position p."""
        batch, seq = tokens.shape
        return self.W_pos[tokens]


class Unembed(nn.Module):
    """Unembedding: W_U [d_model, d_vocab] and b_U [d_vocab]."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.W_U = nn.Parameter(torch.empty(cfg["d_model"], cfg["d_vocab"]))
        nn.init.normal_(self.W_U, std=cfg["init_range"])
        self.b_U = nn.Parameter(torch.zeros(cfg["d_vocab"]))

    def forward(self, normalized_resid_final: torch.Tensor) -> torch.Tensor:
        """normalized_resid_final [batch, seq, d_model] -> logits [batch, seq, d_vocab]."""
        return normalized_resid_final @ self.W_U + self.b_U
