"""A whole learner file in ARENA's style: a persistent IGNORE buffer (-1e5) fills the mask, and matmuls over per-head views replace einsum."""

import math

import torch
import torch.nn as nn


class Attention(nn.Module):
    IGNORE: torch.Tensor

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        h, d, e = cfg["n_heads"], cfg["d_model"], cfg["d_head"]
        std = cfg["init_range"]
        self.W_Q = nn.Parameter(torch.randn(h, d, e) * std)
        self.W_K = nn.Parameter(torch.randn(h, d, e) * std)
        self.W_V = nn.Parameter(torch.randn(h, d, e) * std)
        self.W_O = nn.Parameter(torch.randn(h, e, d) * std)
        self.b_Q = nn.Parameter(torch.zeros(h, e))
        self.b_K = nn.Parameter(torch.zeros(h, e))
        self.b_V = nn.Parameter(torch.zeros(h, e))
        self.b_O = nn.Parameter(torch.zeros(d))
        self.register_buffer("IGNORE", torch.tensor(-1e5, dtype=torch.float32))  # persistent, not a GPT-2 weight

    def apply_causal_mask(self, attn_scores: torch.Tensor) -> torch.Tensor:
        q_pos = torch.arange(attn_scores.shape[-2], device=attn_scores.device)[:, None]
        k_pos = torch.arange(attn_scores.shape[-1], device=attn_scores.device)[None, :]
        return torch.where(k_pos > q_pos, self.IGNORE, attn_scores)

    def _heads(self, x, W, b):
        # x [batch, seq, d_model] @ W [heads, d_model, d_head] -> [batch, heads, seq, d_head]
        return x.unsqueeze(1) @ W + b.unsqueeze(1)

    def attention_pattern(self, normalized_resid_pre: torch.Tensor) -> torch.Tensor:
        q = self._heads(normalized_resid_pre, self.W_Q, self.b_Q)
        k = self._heads(normalized_resid_pre, self.W_K, self.b_K)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.cfg["d_head"])
        return torch.softmax(self.apply_causal_mask(scores), dim=-1)

    def forward(self, normalized_resid_pre: torch.Tensor) -> torch.Tensor:
        v = self._heads(normalized_resid_pre, self.W_V, self.b_V)
        z = self.attention_pattern(normalized_resid_pre) @ v  # [batch, heads, seq, d_head]
        return (z @ self.W_O).sum(dim=1) + self.b_O
