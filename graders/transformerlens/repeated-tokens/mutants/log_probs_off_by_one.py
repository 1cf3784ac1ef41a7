"""next_token_log_probs scores the current token instead of the next one (no shift)."""


def next_token_log_probs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    log_probs = logits.log_softmax(dim=-1)[:, :-1]
    return log_probs.gather(-1, tokens[:, :-1, None])[..., 0]
