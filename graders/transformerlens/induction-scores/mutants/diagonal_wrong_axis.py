"""the diagonal is taken with the query and key axes swapped (dim1=-1, dim2=-2), i.e. above the main
diagonal."""


def induction_scores_from_pattern(pattern: torch.Tensor, seq_len: int) -> torch.Tensor:
    diag = pattern.diagonal(offset=-(seq_len - 1), dim1=-1, dim2=-2)  # [batch, n_heads, seq_len + 2]
    return diag[..., -seq_len:].mean(dim=(0, -1))
