"""attention_pattern always reads layer 0's pattern (the hook name is not built from `layer`)."""


def attention_pattern(model, tokens: torch.Tensor, layer: int) -> torch.Tensor:
    _, cache = model.run_with_cache(tokens)
    return cache["blocks.0.attn.hook_pattern"]
