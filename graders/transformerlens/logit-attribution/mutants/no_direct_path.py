"""residual_components forgets the direct path: the token and positional embeddings are left out of the
components."""


def residual_components(model, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
        embed = cache["hook_embed"]
        parts = []
        for layer in range(model.cfg.n_layers):
            outs = head_outputs(cache[f"blocks.{layer}.attn.hook_z"], model.W_O[layer])
            parts.extend(outs.unbind(dim=2))
        parts.append(model.b_O.sum(dim=0).expand_as(embed))
        return torch.stack(parts, dim=2), cache["ln_final.hook_scale"]
