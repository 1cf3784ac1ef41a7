"""zero ablation edits the head's attention scores (hook_attn_scores) instead of its output z.
TransformerBridge discards edits at that hook point (with a warning), so nothing is ablated; and a
zero score would not be zero attention anyway."""


def run_with_ablation(model, tokens: torch.Tensor, heads, means=None) -> torch.Tensor:
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(int(layer), []).append(int(head))

    def ablate(z, hook):
        layer = hook.layer()
        for head in by_layer[layer]:
            z = zero_ablate_head(z, head) if means is None else mean_ablate_head(z, head, means[layer])
        return z

    def zero_scores(scores, hook):
        scores = scores.clone()
        for head in by_layer[hook.layer()]:
            scores[:, head] = 0.0
        return scores

    if means is None:
        hooks = [(f"blocks.{layer}.attn.hook_attn_scores", zero_scores) for layer in sorted(by_layer)]
    else:
        hooks = [(f"blocks.{layer}.attn.hook_z", ablate) for layer in sorted(by_layer)]
    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=hooks)
