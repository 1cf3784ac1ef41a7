"""cached_qk returns the keys twice (hook_k in place of hook_q)."""


def cached_qk(model, tokens: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    _, cache = model.run_with_cache(tokens)
    return cache[f"blocks.{layer}.attn.hook_k"], cache[f"blocks.{layer}.attn.hook_k"]
