"""first_token_scores reads row 0 of the pattern (what query 0 attends to) instead of column 0."""


def first_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    return pattern[..., 0, 1:].mean(dim=(0, -1))


SCORERS = {"current": current_token_scores, "previous": previous_token_scores, "first": first_token_scores}
