"""Attention-head detectors: find current-token, previous-token and first-token heads.

Fill in each function, then run `mi-exercise check attention-head-detectors`.

A pattern is [batch, n_heads, query_pos, key_pos] as in cache["blocks.L.attn.hook_pattern"].
Every score averages over the batch and over query positions 1 .. pos-1 (query 0 can only
attend to itself, so it tells nothing about a head), giving one number per head: [n_heads].

    from mi_exercise.models.induction import load_gpt2, load_induction_model
    model = load_induction_model()
    gpt2 = load_gpt2()    # GPT-2 small, when its weights are in the Hugging Face cache
"""

import torch

from mi_exercise.models.induction import load_gpt2, load_induction_model  # noqa: F401  (handy for trying things)


def current_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    """Mean attention each query pays to its own position. pattern [batch, n_heads, pos, pos] -> [n_heads]."""
    raise NotImplementedError("current_token_scores")


def previous_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    """Mean attention each query pays to the position just before it. [batch, n_heads, pos, pos] -> [n_heads]."""
    raise NotImplementedError("previous_token_scores")


def first_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    """Mean attention each query pays to position 0 (the BOS token). [batch, n_heads, pos, pos] -> [n_heads]."""
    raise NotImplementedError("first_token_scores")


def detect_heads(model, tokens: torch.Tensor, kind: str, threshold: float = 0.4) -> list[list[int]]:
    """Run the model on tokens [batch, pos] with a cache and return the heads whose `kind` score
    is above `threshold`, as [[layer, head], ...] sorted by layer then head.

    kind is "current", "previous" or "first"; anything else raises ValueError.
    """
    raise NotImplementedError("detect_heads")
