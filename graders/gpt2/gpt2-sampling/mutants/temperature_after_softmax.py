"""the temperature divides the probabilities after the softmax (multinomial renormalises, so it has no
effect)."""


def sample(logits: torch.Tensor, seed: int, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None) -> torch.Tensor:
    """logits [batch, d_vocab] -> tokens [batch] (int64), one independent sample per row.

    temperature 0 is greedy. Otherwise: divide the logits by the temperature, apply top_k_filter
    and then top_p_filter when they are given, softmax, and draw with
    torch.multinomial using torch.Generator(device=logits.device).manual_seed(seed).
    """
    if temperature == 0:
        return greedy(logits)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    probs = logits.softmax(dim=-1) / temperature
    generator = torch.Generator(device=logits.device).manual_seed(int(seed))
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
