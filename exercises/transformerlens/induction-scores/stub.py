"""Induction scores: find the heads that copy from context.

Fill in each function, then run `mi-exercise check induction-scores`.

On a repeated sequence [BOS] + seq + seq (T = 1 + 2 * seq_len tokens), an induction head at a
query in the second copy attends to the token right after the same token's first occurrence:
seq_len - 1 positions back. Patterns are [batch, n_heads, query_pos, key_pos].

    from mi_exercise.models.induction import load_gpt2, load_induction_model, repeated_tokens
    model = load_induction_model()
    tokens = repeated_tokens(seq_len=20, batch=4)
    gpt2 = load_gpt2()    # GPT-2 small, when its weights are in the Hugging Face cache
"""

import torch

from mi_exercise.models.induction import load_gpt2, load_induction_model, repeated_tokens  # noqa: F401  (load_gpt2: GPT-2 small, when its weights are here)


def induction_scores_from_pattern(pattern: torch.Tensor, seq_len: int) -> torch.Tensor:
    """pattern [batch, n_heads, T, T] on [BOS] + seq + seq -> [n_heads]: the mean, over the batch
    and over the seq_len queries of the second copy, of the attention each query pays to the
    position seq_len - 1 before it."""
    raise NotImplementedError("induction_scores_from_pattern")


def induction_scores(model, tokens: torch.Tensor, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the model on tokens [batch, T] with run_with_hooks, a hook on every layer's
    hook_pattern filling scores [n_layers, n_heads] with induction_scores_from_pattern.
    Return (scores [n_layers, n_heads], logits [batch, T, d_vocab]). The hooks must only
    read: the logits must be the model's ordinary output."""
    raise NotImplementedError("induction_scores")


def find_induction_heads(scores: torch.Tensor, threshold: float = 0.4) -> list[list[int]]:
    """scores [n_layers, n_heads] -> [[layer, head], ...] with score > threshold, sorted."""
    raise NotImplementedError("find_induction_heads")
