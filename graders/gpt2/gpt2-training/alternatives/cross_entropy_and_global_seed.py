"""A whole learner file: F.cross_entropy with reduction='none' for the per-token loss, and a training loop that seeds torch globally and draws offsets with it."""

import torch
import torch.nn.functional as F

from gpt2_model import GPT2


def per_token_loss(logits, tokens):
    pred, target = logits[:, :-1], tokens[:, 1:]
    return F.cross_entropy(pred.transpose(1, 2), target, reduction="none")


def lm_loss(logits, tokens):
    return F.cross_entropy(logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten())


def make_optimizer(model, lr):
    return torch.optim.AdamW(model.parameters(), lr, weight_decay=0.01)


def train_step(model, optimizer, batch):
    loss = lm_loss(model(batch), batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def random_windows(ids, batch_size, length, generator):
    starts = torch.randint(len(ids) - length + 1, (batch_size,), generator=generator)
    return ids[starts[:, None] + torch.arange(length)]


def train(model, ids, steps, batch_size, lr, seed):
    torch.manual_seed(seed)  # a global seed: the offsets below come from torch's default generator
    opt = make_optimizer(model, lr)
    n = model.cfg["n_ctx"]
    losses = []
    for _ in range(steps):
        starts = torch.randint(0, len(ids) - n + 1, (batch_size,))
        losses.append(train_step(model, opt, torch.stack([ids[s:s + n] for s in starts])))
    return losses
