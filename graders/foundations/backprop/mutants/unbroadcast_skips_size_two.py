"""unbroadcast sums a stretched size-1 dimension only when broadcasting made it larger than 2, so a
dimension stretched from 1 to 2 keeps both entries."""


def unbroadcast(grad: torch.Tensor, shape) -> torch.Tensor:
    shape = tuple(shape)
    while grad.dim() > len(shape):
        grad = grad.sum(dim=0)
    for i, size in enumerate(shape):
        if size == 1 and grad.shape[i] > 2:
            grad = grad.sum(dim=i, keepdim=True)
    return grad
