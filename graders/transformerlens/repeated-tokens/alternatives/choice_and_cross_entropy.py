"""Tokens drawn as indices into the list of non-BOS ids and repeated with tensor.repeat; the
log-probabilities as minus the unreduced cross-entropy; the halves as NLL means over a mask."""

import torch.nn.functional as F


def generate_repeated_tokens(seq_len: int, batch: int = 1, seed: int = 0, d_vocab: int = 128, bos: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.tensor([t for t in range(d_vocab) if t != bos])
    seq = ids[torch.randint(len(ids), (batch, seq_len), generator=gen)]
    return torch.cat([torch.full((batch, 1), bos), seq.repeat(1, 2)], dim=1)


def next_token_log_probs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    predicted, targets = logits[:, :-1], tokens[:, 1:]
    return -F.cross_entropy(predicted.transpose(1, 2), targets, reduction="none")


def loss_by_half(log_probs: torch.Tensor, seq_len: int) -> tuple[float, float]:
    second = torch.arange(log_probs.shape[1], device=log_probs.device) >= seq_len
    nll = -log_probs
    return nll[:, ~second].mean().item(), nll[:, second].mean().item()
