"""per_token_loss shifts the wrong way: logits[:, 1:] are scored on tokens[:, :-1], the token before each position."""


def per_token_loss(logits, tokens):
    log_probs = logits[:, 1:].log_softmax(dim=-1)
    return -log_probs.gather(-1, tokens[:, :-1].unsqueeze(-1)).squeeze(-1)
