"""Mutant: the diagonal is taken with the query and key axes swapped (dim1=-1, dim2=-2), i.e. above the main diagonal."""

import torch

from mi_exercise.models.induction import load_gpt2, load_induction_model  # noqa: F401  (the grader asks the worker for the models through them)


def induction_scores_from_pattern(pattern: torch.Tensor, seq_len: int) -> torch.Tensor:
    diag = pattern.diagonal(offset=-(seq_len - 1), dim1=-1, dim2=-2)  # [batch, n_heads, seq_len + 2]
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
