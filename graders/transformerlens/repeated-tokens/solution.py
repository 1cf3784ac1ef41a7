"""Reference solution for repeated-tokens."""

import torch

from mi_exercise.models.induction import bos_token, load_induction_model  # noqa: F401


def generate_repeated_tokens(seq_len: int, batch: int = 1, seed: int = 0, d_vocab: int = 128, bos: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    seq = torch.randint(0, d_vocab - 1, (batch, seq_len), generator=gen)
    seq = seq + (seq >= bos).long()  # skip the BOS id
    first = torch.full((batch, 1), bos, dtype=torch.long)
    return torch.cat([first, seq, seq], dim=1)


def next_token_log_probs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    log_probs = logits.log_softmax(dim=-1)[:, :-1]
    return log_probs.gather(-1, tokens[:, 1:, None])[..., 0]


def loss_by_half(log_probs: torch.Tensor, seq_len: int) -> tuple[float, float]:
    return _loss_by_half_at(log_probs, seq_len)


def _loss_by_half_at(log_probs: torch.Tensor, split: int) -> tuple[float, float]:
    first = -log_probs[:, :split].mean().item()
    second = -log_probs[:, split:].mean().item()
    return first, second


def repeated_loss(model, seq_len: int, batch: int = 1, seed: int = 0):
    tokens = generate_repeated_tokens(seq_len, batch, seed, model.cfg.d_vocab, bos_token())
    tokens = tokens.to(next(model.parameters()).device)
    with torch.no_grad():
        logits = model(tokens)
    log_probs = next_token_log_probs(logits, tokens)
    first, second = loss_by_half(log_probs, seq_len)
    return tokens, log_probs, first, second
