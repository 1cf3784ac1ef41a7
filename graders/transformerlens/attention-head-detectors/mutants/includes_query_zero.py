"""current_token_scores averages over every query, query 0 included (it can only attend to itself)."""


def _diagonal_score(pattern: torch.Tensor, offset: int) -> torch.Tensor:
    diag = pattern.diagonal(offset=offset, dim1=-2, dim2=-1)  # [batch, n_heads, pos - |offset|]
    queries_from_1 = diag  # offset -1 starts at query 1 already
    return queries_from_1.mean(dim=(0, -1))
