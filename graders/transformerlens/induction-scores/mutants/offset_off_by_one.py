"""the induction diagonal is taken seq_len back (the earlier copy of the same token) instead of seq_len
- 1 back."""


def induction_scores_from_pattern(pattern: torch.Tensor, seq_len: int) -> torch.Tensor:
    diag = pattern.diagonal(offset=-seq_len, dim1=-2, dim2=-1)  # [batch, n_heads, seq_len + 2]
    return diag[..., -seq_len:].mean(dim=(0, -1))
