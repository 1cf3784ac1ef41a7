"""induction_scores_from_pattern averages the whole diagonal seq_len - 1 back (ARENA's convention),
which also holds the first copy's last two queries."""


def induction_scores_from_pattern(pattern: torch.Tensor, seq_len: int) -> torch.Tensor:
    return pattern.diagonal(offset=1 - seq_len, dim1=-2, dim2=-1).mean(dim=(0, -1))
