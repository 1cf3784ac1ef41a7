"""Reference solution for attention-head-detectors."""

import torch


def _diagonal_score(pattern: torch.Tensor, offset: int) -> torch.Tensor:
    diag = pattern.diagonal(offset=offset, dim1=-2, dim2=-1)  # [batch, n_heads, pos - |offset|]
    queries_from_1 = diag[..., 1:] if offset == 0 else diag  # offset -1 starts at query 1 already
    return queries_from_1.mean(dim=(0, -1))


def current_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    return _diagonal_score(pattern, 0)


def previous_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    return _diagonal_score(pattern, -1)


def first_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    return pattern[..., 1:, 0].mean(dim=(0, -1))


SCORERS = {"current": current_token_scores, "previous": previous_token_scores, "first": first_token_scores}


def detect_heads(model, tokens: torch.Tensor, kind: str, threshold: float = 0.4) -> list[list[int]]:
    if kind not in SCORERS:
        raise ValueError(f"kind must be one of {sorted(SCORERS)}, got {kind!r}")
    _, cache = model.run_with_cache(tokens)
    found = []
    for layer in range(model.cfg.n_layers):
        scores = SCORERS[kind](cache[f"blocks.{layer}.attn.hook_pattern"])
        found += [[layer, head] for head in range(model.cfg.n_heads) if scores[head].item() > threshold]
    return found
