"""the log-softmax normalises over the sequence dimension instead of the vocabulary."""


def per_token_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """logits [batch, seq, d_vocab] (the model's output on tokens), tokens [batch, seq] (int64)
    -> loss [batch, seq - 1]: at position t, -log of the probability the logits at t give to
    the NEXT token, tokens[:, t + 1]."""
    log_probs = logits[:, :-1].log_softmax(dim=1)
    return -log_probs.gather(-1, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)
