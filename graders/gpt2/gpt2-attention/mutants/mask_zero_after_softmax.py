"""GPT-2 from scratch, part 3: causal multi-head self-attention.

Mutant: attention_pattern zeroes the future entries after the softmax, so rows no longer sum to 1.
"""

import math

import torch
import torch.nn as nn


class Attention(nn.Module):
    """Causal multi-head self-attention with per-head weights.

    W_Q, W_K, W_V [n_heads, d_model, d_head]; b_Q, b_K, b_V [n_heads, d_head];
    W_O [n_heads, d_head, d_model]; b_O [d_model].
    """

    def __init__(self, cfg: dict):
        super().__init__()
        n_heads, d_model, d_head = cfg["n_heads"], cfg["d_model"], cfg["d_head"]
        self.d_head = d_head
        self.W_Q = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_K = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_V = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_O = nn.Parameter(torch.empty(n_heads, d_head, d_model))
        for w in (self.W_Q, self.W_K, self.W_V, self.W_O):
            nn.init.normal_(w, std=cfg["init_range"])
        self.b_Q = nn.Parameter(torch.zeros(n_heads, d_head))
        self.b_K = nn.Parameter(torch.zeros(n_heads, d_head))
        self.b_V = nn.Parameter(torch.zeros(n_heads, d_head))
        self.b_O = nn.Parameter(torch.zeros(d_model))

    def apply_causal_mask(self, attn_scores: torch.Tensor) -> torch.Tensor:
        """attn_scores [batch, n_heads, seq_q, seq_k] (seq_q == seq_k) -> a new tensor, same shape,
        with every entry whose key comes after its query (k > q) set to -inf."""
        seq_q, seq_k = attn_scores.shape[-2:]
        future = torch.triu(torch.ones(seq_q, seq_k, dtype=torch.bool, device=attn_scores.device), diagonal=1)
        return attn_scores.masked_fill(future, float("-inf"))

    def attention_pattern(self, normalized_resid_pre: torch.Tensor) -> torch.Tensor:
        """normalized_resid_pre [batch, seq, d_model] -> pattern [batch, n_heads, seq_q, seq_k]:
        softmax over keys of the masked, scaled scores; each row sums to 1."""
        q = torch.einsum("bsd,hde->bshe", normalized_resid_pre, self.W_Q) + self.b_Q
        k = torch.einsum("bsd,hde->bshe", normalized_resid_pre, self.W_K) + self.b_K
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(self.d_head)
        pattern = scores.softmax(dim=-1)
        return torch.tril(pattern)

    def forward(self, normalized_resid_pre: torch.Tensor) -> torch.Tensor:
        """normalized_resid_pre [batch, seq, d_model] -> attention output [batch, seq, d_model]."""
        pattern = self.attention_pattern(normalized_resid_pre)
        v = torch.einsum("bsd,hde->bshe", normalized_resid_pre, self.W_V) + self.b_V
        z = torch.einsum("bhqk,bkhe->bqhe", pattern, v)
        return torch.einsum("bqhe,hed->bqd", z, self.W_O) + self.b_O
