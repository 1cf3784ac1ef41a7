"""predict takes the argmax over the batch dimension (dim=0) instead of the classes."""


def predict(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(X).argmax(dim=0)
