"""next_token_log_probs uses softmax, not log_softmax."""


def next_token_log_probs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    log_probs = logits.softmax(dim=-1)[:, :-1]
    return log_probs.gather(-1, tokens[:, 1:, None])[..., 0]
