"""The induction stripe read by gathering key index q - (seq_len - 1) for each query instead of
taking a diagonal, the patterns from run_with_cache instead of a hook, and the heads found by
scanning the layers and heads in order."""


def induction_scores_from_pattern(pattern: torch.Tensor, seq_len: int) -> torch.Tensor:
    # the second copy's queries sit at positions seq_len + 1 .. 2 seq_len; each looks seq_len - 1 back
    queries = torch.arange(seq_len + 1, 2 * seq_len + 1, device=pattern.device)
    stripe = pattern[..., queries, queries - (seq_len - 1)]  # [batch, n_heads, seq_len]
    return stripe.mean(dim=-1).mean(dim=0)


def induction_scores(model, tokens: torch.Tensor, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
    scores = torch.stack([induction_scores_from_pattern(cache[f"blocks.{layer}.attn.hook_pattern"], seq_len)
                          for layer in range(model.cfg.n_layers)])
    return scores.to(tokens.device), logits


def find_induction_heads(scores: torch.Tensor, threshold: float = 0.4) -> list[list[int]]:
    n_layers, n_heads = scores.shape
    return [[layer, head] for layer in range(n_layers) for head in range(n_heads) if scores[layer, head] > threshold]
