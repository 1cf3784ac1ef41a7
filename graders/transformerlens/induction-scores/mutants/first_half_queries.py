"""the scores are averaged over the first entries of the diagonal (first-copy queries), the wrong half."""


def induction_scores_from_pattern(pattern: torch.Tensor, seq_len: int) -> torch.Tensor:
    diag = pattern.diagonal(offset=-(seq_len - 1), dim1=-2, dim2=-1)  # [batch, n_heads, seq_len + 2]
    return diag[..., :seq_len].mean(dim=(0, -1))
