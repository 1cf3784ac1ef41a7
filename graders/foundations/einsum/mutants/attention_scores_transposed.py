"""attention_scores puts the key axis before the query axis ('->bhkq'): scores [batch, heads, seq_k,
seq_q]."""


def attention_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bqhd,bkhd->bhkq", q, k)
