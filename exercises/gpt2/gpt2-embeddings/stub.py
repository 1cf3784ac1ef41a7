"""GPT-2 from scratch, part 2: token embedding, positional embedding, unembedding.

Fill in each function and method, then run `mi-exercise check gpt2-embeddings`.
Shapes are written in brackets: x [batch, seq, d_model].
"""

import math

import torch
import torch.nn as nn


class Embed(nn.Module):
    """Token embedding: W_E [d_vocab, d_model]."""

    def __init__(self, cfg: dict):
        super().__init__()
        # self.W_E: an nn.Parameter [d_vocab, d_model], initialised with std cfg["init_range"].
        raise NotImplementedError("Embed.__init__")

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, seq] (int64) -> embeddings [batch, seq, d_model]."""
        raise NotImplementedError("Embed.forward")


class PosEmbed(nn.Module):
    """Learned positional embedding: W_pos [n_ctx, d_model]."""

    def __init__(self, cfg: dict):
        super().__init__()
        # self.W_pos: an nn.Parameter [n_ctx, d_model], initialised with std cfg["init_range"].
        raise NotImplementedError("PosEmbed.__init__")

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, seq] -> positional embeddings [batch, seq, d_model]: row p of W_pos at position p."""
        raise NotImplementedError("PosEmbed.forward")


class Unembed(nn.Module):
    """Unembedding: W_U [d_model, d_vocab] and b_U [d_vocab]."""

    def __init__(self, cfg: dict):
        super().__init__()
        # self.W_U: nn.Parameter [d_model, d_vocab] (std cfg["init_range"]); self.b_U: zeros [d_vocab].
        raise NotImplementedError("Unembed.__init__")

    def forward(self, normalized_resid_final: torch.Tensor) -> torch.Tensor:
        """normalized_resid_final [batch, seq, d_model] -> logits [batch, seq, d_vocab]."""
        raise NotImplementedError("Unembed.forward")
