"""cross_entropy_backward forgets to divide by the batch size (the loss is a mean)."""


def cross_entropy_backward(logits: torch.Tensor, targets: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    n = logits.shape[0]
    onehot = torch.nn.functional.one_hot(targets, logits.shape[-1]).to(logits.dtype)
    return grad_out * (softmax(logits) - onehot)
