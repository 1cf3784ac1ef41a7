"""detect_heads returns [head, layer] pairs instead of [layer, head]."""


def detect_heads(model, tokens: torch.Tensor, kind: str, threshold: float = 0.4) -> list[list[int]]:
    if kind not in SCORERS:
        raise ValueError(f"kind must be one of {sorted(SCORERS)}, got {kind!r}")
    _, cache = model.run_with_cache(tokens)
    found = []
    for layer in range(model.cfg.n_layers):
        scores = SCORERS[kind](cache[f"blocks.{layer}.attn.hook_pattern"])
        found += [[head, layer] for head in range(model.cfg.n_heads) if scores[head].item() > threshold]
    return found
