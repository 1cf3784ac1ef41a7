"""previous_token_scores takes the diagonal above the main one (offset +1, key = query + 1), the wrong
side."""


def previous_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    return _diagonal_score(pattern, 1)


SCORERS = {"current": current_token_scores, "previous": previous_token_scores, "first": first_token_scores}
