"""top-p keeps only tokens whose running total stays below p, dropping the token that crosses p."""


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """logits [batch, d_vocab] -> a new tensor, same shape: each row keeps its nucleus, the
    smallest set of most likely tokens whose probabilities (softmax of the row) add up to at
    least p, the token that crosses p included; every other entry is -inf."""
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(dim=-1)
    before = probs.cumsum(dim=-1) - probs  # probability of the tokens ranked above this one
    drop_sorted = probs.cumsum(dim=-1) > p
    drop_sorted[..., 0] = False  # the most likely token always stays
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))
