"""the training loop draws one batch of windows and trains on it for every step."""


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
    batch = random_windows(ids, batch_size, length, generator)
    for _ in range(steps):
        losses.append(train_step(model, optimizer, batch))
    model.eval()
    return losses
