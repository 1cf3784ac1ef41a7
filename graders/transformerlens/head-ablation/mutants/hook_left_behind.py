"""run_with_ablation adds its hooks with model.add_hook and runs the model, but never removes them: the
ablation leaks into every later run (the next clean baseline included)."""


def run_with_ablation(model, tokens: torch.Tensor, heads, means=None) -> torch.Tensor:
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(int(layer), []).append(int(head))

    def ablate(z, hook):
        layer = hook.layer()
        for head in by_layer[layer]:
            z = zero_ablate_head(z, head) if means is None else mean_ablate_head(z, head, means[layer])
        return z

    hooks = [(f"blocks.{layer}.attn.hook_z", ablate) for layer in sorted(by_layer)]
    for name, fn in hooks:
        model.add_hook(name, fn)
    with torch.no_grad():
        return model(tokens)
