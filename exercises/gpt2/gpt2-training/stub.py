"""GPT-2 from scratch, part 7: the language-modelling loss and a training loop.

Fill in each function, then run `mi-exercise check gpt2-training`.
Shapes are written in brackets: logits [batch, seq, d_vocab].
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
    raise NotImplementedError("per_token_loss")


def lm_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """logits [batch, seq, d_vocab], tokens [batch, seq] -> a 0-dim tensor: the mean of
    per_token_loss over every predicted position of every sequence."""
    raise NotImplementedError("lm_loss")


def make_optimizer(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """AdamW over all of model's parameters with learning rate lr and weight_decay=0.01
    (the other settings at PyTorch's defaults)."""
    raise NotImplementedError("make_optimizer")


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: torch.Tensor) -> float:
    """One step of gradient descent on batch [batch, seq] (int64): the model predicts each next
    token of batch; returns the step's loss (lm_loss before the update) as a float."""
    raise NotImplementedError("train_step")


def random_windows(ids: torch.Tensor, batch_size: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """ids [n_tokens] -> [batch_size, length]: windows of `length` consecutive tokens starting
    at random offsets drawn with `generator`."""
    raise NotImplementedError("random_windows")


def train(model: nn.Module, ids: torch.Tensor, steps: int, batch_size: int, lr: float, seed: int) -> list[float]:
    """Train model in place on the token stream ids [n_tokens] (int64): `steps` train_steps with
    make_optimizer(model, lr), each on batch_size random windows of model.cfg["n_ctx"] tokens
    (offsets drawn with torch.Generator().manual_seed(seed)). Returns the losses, one per step."""
    raise NotImplementedError("train")
