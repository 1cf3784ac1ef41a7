"""unbroadcast sums over the leading dimensions broadcasting added but not over the stretched size-1
dimensions."""


def unbroadcast(grad: torch.Tensor, shape) -> torch.Tensor:
    shape = tuple(shape)
    # dimensions that broadcasting added in front
    while grad.dim() > len(shape):
        grad = grad.sum(dim=0)
    # dimensions of size 1 that broadcasting stretched
    return grad
