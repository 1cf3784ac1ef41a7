"""generate with the cache feeds the whole sequence again each step (duplicating the cached keys)."""


@torch.no_grad()
def generate(model: GPT2, prompt: torch.Tensor, max_new_tokens: int, seed: int = 0, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, use_cache: bool = True) -> torch.Tensor:
    """prompt [batch, seq] (int64) -> tokens [batch, seq + max_new_tokens]: the prompt followed by
    max_new_tokens tokens, the one of step i (0, 1, ...) drawn by
    sample(logits at the last position, seed + i, temperature, top_k, top_p).

    use_cache=True runs the prompt once and then one new token per step through
    forward_with_cache; use_cache=False runs the model on the whole sequence at every step.
    Both give the same tokens.
    """
    tokens = prompt
    cache = None
    new = prompt
    for i in range(max_new_tokens):
        if use_cache:
            logits, cache = forward_with_cache(model, tokens if cache is None else tokens[:, -1 - i:], cache)
        else:
            logits = model(tokens)
        new = sample(logits[:, -1], seed + i, temperature, top_k, top_p).unsqueeze(-1)
        tokens = torch.cat([tokens, new], dim=1)
    return tokens
