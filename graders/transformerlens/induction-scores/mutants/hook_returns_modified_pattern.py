"""the hook zeroes the attention to BOS on a copy and returns it, so the hooked run computes with a
changed pattern."""


def induction_scores(model, tokens: torch.Tensor, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    scores = torch.zeros(model.cfg.n_layers, model.cfg.n_heads, device=tokens.device)

    def record(pattern, hook):
        pattern = pattern.clone()
        pattern[..., 0] = 0.0  # ignore BOS
        scores[hook.layer()] = induction_scores_from_pattern(pattern, seq_len)
        return pattern

    with torch.no_grad():
        logits = model.run_with_hooks(tokens, fwd_hooks=[(lambda name: name.endswith("hook_pattern"), record)])
    return scores, logits
