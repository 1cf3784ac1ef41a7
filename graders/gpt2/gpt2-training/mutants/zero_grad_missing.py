"""optimizer.zero_grad() is never called, so gradients pile up across steps."""


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: torch.Tensor) -> float:
    """One step of gradient descent on batch [batch, seq] (int64): the model predicts each next
    token of batch; returns the step's loss (lm_loss before the update) as a float."""
    loss = lm_loss(model(batch), batch)
    loss.backward()
    optimizer.step()
    return loss.item()
