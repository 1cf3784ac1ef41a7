"""top-k keeps k + 1 tokens (compares with the (k+1)-th largest logit)."""


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """logits [batch, d_vocab] -> a new tensor, same shape: each row keeps its k largest logits,
    every other entry is -inf. k >= d_vocab keeps everything."""
    k = min(int(k), logits.shape[-1])
    kth_largest = logits.topk(min(k + 1, logits.shape[-1]), dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth_largest, float("-inf"))
