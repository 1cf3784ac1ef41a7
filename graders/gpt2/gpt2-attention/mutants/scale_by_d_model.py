"""The scores are divided by sqrt(d_model) instead of sqrt(d_head)."""


def attention_pattern(self, normalized_resid_pre: torch.Tensor) -> torch.Tensor:
    """normalized_resid_pre [batch, seq, d_model] -> pattern [batch, n_heads, seq_q, seq_k]:
    softmax over keys of the masked, scaled scores; each row sums to 1."""
    q = torch.einsum("bsd,hde->bshe", normalized_resid_pre, self.W_Q) + self.b_Q
    k = torch.einsum("bsd,hde->bshe", normalized_resid_pre, self.W_K) + self.b_K
    scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(normalized_resid_pre.shape[-1])
    return self.apply_causal_mask(scores).softmax(dim=-1)


Attention.attention_pattern = attention_pattern
