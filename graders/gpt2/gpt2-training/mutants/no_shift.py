"""no shift: position t is scored on tokens[:, t], the token it was given (and the loss has seq
positions)."""


def per_token_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """logits [batch, seq, d_vocab] (the model's output on tokens), tokens [batch, seq] (int64)
    -> loss [batch, seq - 1]: at position t, -log of the probability the logits at t give to
    the NEXT token, tokens[:, t + 1]."""
    log_probs = logits.log_softmax(dim=-1)
    return -log_probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
