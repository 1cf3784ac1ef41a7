"""pattern_from_qk divides the scores by d_head instead of sqrt(d_head)."""


def pattern_from_qk(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / q.shape[-1]
    n_q, n_k = q.shape[1], k.shape[1]
    mask = torch.triu(torch.ones(n_q, n_k, dtype=torch.bool, device=q.device), diagonal=1)
    return scores.masked_fill(mask, float("-inf")).softmax(dim=-1)
