"""Reference solution for head-ablation."""

import torch


def head_means(z: torch.Tensor) -> torch.Tensor:
    return z.mean(dim=(0, 1))


def zero_ablate_head(z: torch.Tensor, head: int) -> torch.Tensor:
    z = z.clone()
    z[:, :, head] = 0.0
    return z


def mean_ablate_head(z: torch.Tensor, head: int, means: torch.Tensor) -> torch.Tensor:
    z = z.clone()
    z[:, :, head] = means[head]
    return z


def mean_activations(model, tokens: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    return torch.stack([head_means(cache[f"blocks.{layer}.attn.hook_z"]) for layer in range(model.cfg.n_layers)])


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
    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=hooks)


def _half_losses(logits: torch.Tensor, tokens: torch.Tensor, seq_len: int) -> tuple[float, float]:
    log_probs = logits.log_softmax(dim=-1)[:, :-1].gather(-1, tokens[:, 1:, None])[..., 0]
    return -log_probs[:, :seq_len].mean().item(), -log_probs[:, seq_len:].mean().item()


def half_loss_increase(model, tokens: torch.Tensor, seq_len: int, heads, ablation: str = "zero") -> tuple[float, float]:
    if ablation not in ("zero", "mean"):
        raise ValueError(f"ablation must be 'zero' or 'mean', got {ablation!r}")
    means = mean_activations(model, tokens) if ablation == "mean" else None
    with torch.no_grad():
        clean = _half_losses(model(tokens), tokens, seq_len)
    ablated = _half_losses(run_with_ablation(model, tokens, heads, means), tokens, seq_len)
    return ablated[0] - clean[0], ablated[1] - clean[1]


def loss_increase_per_head(model, tokens: torch.Tensor, seq_len: int, ablation: str = "zero") -> torch.Tensor:
    if ablation not in ("zero", "mean"):
        raise ValueError(f"ablation must be 'zero' or 'mean', got {ablation!r}")
    means = mean_activations(model, tokens) if ablation == "mean" else None
    with torch.no_grad():
        clean = _half_losses(model(tokens), tokens, seq_len)[1]
    out = torch.zeros(model.cfg.n_layers, model.cfg.n_heads, device=tokens.device)
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            logits = run_with_ablation(model, tokens, [[layer, head]], means)
            out[layer, head] = _half_losses(logits, tokens, seq_len)[1] - clean
    return out
