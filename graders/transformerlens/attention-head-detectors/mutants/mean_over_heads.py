"""the diagonal scores average over heads and queries instead of batch and queries."""


def _diagonal_score(pattern: torch.Tensor, offset: int) -> torch.Tensor:
    diag = pattern.diagonal(offset=offset, dim1=-2, dim2=-1)  # [batch, n_heads, pos - |offset|]
    queries_from_1 = diag[..., 1:] if offset == 0 else diag  # offset -1 starts at query 1 already
    return queries_from_1.mean(dim=(1, -1))
