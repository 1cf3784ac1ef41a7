"""induction_scores reads the patterns from run_with_cache instead of one run_with_hooks call with a
recording hook; every value is right."""


def induction_scores(model, tokens: torch.Tensor, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
    scores = torch.stack([induction_scores_from_pattern(cache[f"blocks.{layer}.attn.hook_pattern"], seq_len)
                          for layer in range(model.cfg.n_layers)])
    return scores, logits
