"""the hook ablates a copy of z but does not return it (like a recording hook), so TransformerLens
keeps the original activation and nothing is ablated."""


def run_with_ablation(model, tokens: torch.Tensor, heads, means=None) -> torch.Tensor:
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(int(layer), []).append(int(head))

    def ablate(z, hook):
        layer = hook.layer()
        for head in by_layer[layer]:
            z = zero_ablate_head(z, head) if means is None else mean_ablate_head(z, head, means[layer])

    hooks = [(f"blocks.{layer}.attn.hook_z", ablate) for layer in sorted(by_layer)]
    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=hooks)
