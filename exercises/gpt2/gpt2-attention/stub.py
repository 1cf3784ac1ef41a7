"""GPT-2 from scratch, part 3: causal multi-head self-attention.

Fill in each function and method, then run `mi-exercise check gpt2-attention`.
Shapes are written in brackets: x [batch, seq, d_model].
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
        # The eight nn.Parameters above: weights with std cfg["init_range"], biases zero.
        raise NotImplementedError("Attention.__init__")

    def apply_causal_mask(self, attn_scores: torch.Tensor) -> torch.Tensor:
        """attn_scores [batch, n_heads, seq_q, seq_k] (seq_q == seq_k) -> a new tensor, same shape,
        with every entry whose key comes after its query (k > q) set to -inf."""
        raise NotImplementedError("Attention.apply_causal_mask")

    def attention_pattern(self, normalized_resid_pre: torch.Tensor) -> torch.Tensor:
        """normalized_resid_pre [batch, seq, d_model] -> pattern [batch, n_heads, seq_q, seq_k]:
        softmax over keys of the masked, scaled scores; each row sums to 1."""
        raise NotImplementedError("Attention.attention_pattern")

    def forward(self, normalized_resid_pre: torch.Tensor) -> torch.Tensor:
        """normalized_resid_pre [batch, seq, d_model] -> attention output [batch, seq, d_model]."""
        raise NotImplementedError("Attention.forward")
