"""loss_increase_per_head measures the loss increase over the whole sequence (both halves) instead of
the repeated half."""


def loss_increase_per_head(model, tokens: torch.Tensor, seq_len: int, ablation: str = "zero") -> torch.Tensor:
    if ablation not in ("zero", "mean"):
        raise ValueError(f"ablation must be 'zero' or 'mean', got {ablation!r}")
    means = mean_activations(model, tokens) if ablation == "mean" else None
    with torch.no_grad():
        clean = sum(_half_losses(model(tokens), tokens, seq_len)) / 2
    out = torch.zeros(model.cfg.n_layers, model.cfg.n_heads, device=tokens.device)
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            logits = run_with_ablation(model, tokens, [[layer, head]], means)
            out[layer, head] = sum(_half_losses(logits, tokens, seq_len)) / 2 - clean
    return out
