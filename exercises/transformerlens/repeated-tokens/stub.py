"""Repeated random tokens: per-token log-probabilities and the loss on each half.

Fill in each function, then run `mi-exercise check repeated-tokens`.

A repeated sequence is [BOS] + seq + seq, where seq is seq_len random non-BOS tokens, so it has
T = 1 + 2 * seq_len tokens. logits are [batch, T, d_vocab]; position i predicts token i + 1.

    from mi_exercise.models.induction import load_induction_model, bos_token
    model = load_induction_model()     # model.cfg.d_vocab tokens, BOS is bos_token() (0)
"""

import torch

from mi_exercise.models.induction import bos_token, load_induction_model  # noqa: F401


def generate_repeated_tokens(seq_len: int, batch: int = 1, seed: int = 0, d_vocab: int = 128, bos: int = 0) -> torch.Tensor:
    """Return int64 [batch, 1 + 2 * seq_len]: a BOS column, then seq, then seq again.

    seq [batch, seq_len] is drawn uniformly from the token ids 0 .. d_vocab-1 other than `bos`,
    with torch.Generator().manual_seed(seed), so the same arguments give the same tokens.
    """
    raise NotImplementedError("generate_repeated_tokens")


def next_token_log_probs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """logits [batch, T, d_vocab], tokens int64 [batch, T] -> [batch, T - 1]:
    entry i is the log-probability the model gave at position i to the actual token i + 1."""
    raise NotImplementedError("next_token_log_probs")


def loss_by_half(log_probs: torch.Tensor, seq_len: int) -> tuple[float, float]:
    """log_probs [batch, 2 * seq_len] from next_token_log_probs on a repeated sequence.
    Return (loss on the first copy, loss on the second copy) as floats: minus the mean
    log-probability of the predictions of the first copy's tokens, then of the second's."""
    raise NotImplementedError("loss_by_half")


def repeated_loss(model, seq_len: int, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """Make repeated tokens for this model (its d_vocab, BOS = bos_token()), run the model, and
    return (tokens [batch, T], log_probs [batch, T - 1], first-half loss, second-half loss)."""
    raise NotImplementedError("repeated_loss")
