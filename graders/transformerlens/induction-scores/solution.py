"""Reference solution for induction-scores."""

import torch


def induction_scores_from_pattern(pattern: torch.Tensor, seq_len: int) -> torch.Tensor:
    diag = pattern.diagonal(offset=-(seq_len - 1), dim1=-2, dim2=-1)  # [batch, n_heads, seq_len + 2]
    return diag[..., -seq_len:].mean(dim=(0, -1))


def induction_scores(model, tokens: torch.Tensor, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    scores = torch.zeros(model.cfg.n_layers, model.cfg.n_heads, device=tokens.device)

    def record(pattern, hook):
        scores[hook.layer()] = induction_scores_from_pattern(pattern, seq_len)

    with torch.no_grad():
        logits = model.run_with_hooks(tokens, fwd_hooks=[(lambda name: name.endswith("hook_pattern"), record)])
    return scores, logits


def find_induction_heads(scores: torch.Tensor, threshold: float = 0.4) -> list[list[int]]:
    return [[layer, head] for layer, head in (scores > threshold).nonzero().tolist()]
