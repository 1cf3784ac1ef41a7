"""next_token_log_probs drops the first position of both the logits and the tokens, so each token is
scored with the logits at its own position (no shift), with the right shape."""


def next_token_log_probs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    log_probs = logits.log_softmax(dim=-1)[:, 1:]
    return log_probs.gather(-1, tokens[:, 1:, None])[..., 0]
