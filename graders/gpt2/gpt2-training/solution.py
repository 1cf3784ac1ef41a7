"""GPT-2 from scratch, part 7: the language-modelling loss and a training loop.

The reference solution.
"""

import math

import torch
import torch.nn as nn


# ---------------------------------------------------------------------------------------------
# Your own parts from the earlier exercises, imported from your files beside this one. When
# this exercise is checked, the grader puts its reference versions under these names, so
# only the new part below is graded; the last exercise runs your own parts together.
# ---------------------------------------------------------------------------------------------

from gpt2_model import GPT2  # yours, from part 5


def per_token_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """logits [batch, seq, d_vocab] (the model's output on tokens), tokens [batch, seq] (int64)
    -> loss [batch, seq - 1]: at position t, -log of the probability the logits at t give to
    the NEXT token, tokens[:, t + 1]."""
    log_probs = logits[:, :-1].log_softmax(dim=-1)
    return -log_probs.gather(-1, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)


def lm_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """logits [batch, seq, d_vocab], tokens [batch, seq] -> a 0-dim tensor: the mean of
    per_token_loss over every predicted position of every sequence."""
    return per_token_loss(logits, tokens).mean()


def make_optimizer(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """AdamW over all of model's parameters with learning rate lr and weight_decay=0.01
    (the other settings at PyTorch's defaults)."""
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: torch.Tensor) -> float:
    """One step of gradient descent on batch [batch, seq] (int64): the model predicts each next
    token of batch; returns the step's loss (lm_loss before the update) as a float."""
    optimizer.zero_grad()
    loss = lm_loss(model(batch), batch)
    loss.backward()
    optimizer.step()
    return loss.item()


def random_windows(ids: torch.Tensor, batch_size: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """ids [n_tokens] -> [batch_size, length]: windows of `length` consecutive tokens starting
    at random offsets drawn with `generator`."""
    starts = torch.randint(0, len(ids) - length + 1, (batch_size,), generator=generator)
    return torch.stack([ids[s:s + length] for s in starts.tolist()])


def train(model: nn.Module, ids: torch.Tensor, steps: int, batch_size: int, lr: float, seed: int) -> list[float]:
    """Train model in place on the token stream ids [n_tokens] (int64): `steps` train_steps with
    make_optimizer(model, lr), each on batch_size random windows of model.cfg["n_ctx"] tokens
    (offsets drawn with torch.Generator().manual_seed(seed)). Returns the losses, one per step."""
    torch.manual_seed(seed)
    model.train()
    optimizer = make_optimizer(model, lr)
    generator = torch.Generator().manual_seed(seed)
    length = min(model.cfg["n_ctx"], len(ids))
    losses = []
    for _ in range(steps):
        losses.append(train_step(model, optimizer, random_windows(ids, batch_size, length, generator)))
    model.eval()
    return losses
