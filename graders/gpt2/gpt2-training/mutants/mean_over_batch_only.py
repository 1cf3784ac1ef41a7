"""lm_loss sums over positions and averages only over the batch."""


def lm_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """logits [batch, seq, d_vocab], tokens [batch, seq] -> a 0-dim tensor: the mean of
    per_token_loss over every predicted position of every sequence."""
    return per_token_loss(logits, tokens).sum(dim=1).mean()
