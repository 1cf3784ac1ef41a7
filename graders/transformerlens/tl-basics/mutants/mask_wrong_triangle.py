"""pattern_from_qk builds the causal mask on the wrong side of the diagonal (tril instead of triu)."""


def pattern_from_qk(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
    n_q, n_k = q.shape[1], k.shape[1]
    mask = torch.tril(torch.ones(n_q, n_k, dtype=torch.bool, device=q.device), diagonal=-1)
    return scores.masked_fill(mask, float("-inf")).softmax(dim=-1)
