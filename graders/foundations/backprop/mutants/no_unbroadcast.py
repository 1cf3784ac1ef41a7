"""add/mul/matmul backward return the gradient at the output's shape, never summed back over broadcast
dimensions."""


def unbroadcast(grad: torch.Tensor, shape) -> torch.Tensor:
    return grad
    shape = tuple(shape)
    # dimensions that broadcasting added in front
    while grad.dim() > len(shape):
        grad = grad.sum(dim=0)
    # dimensions of size 1 that broadcasting stretched
    for i, size in enumerate(shape):
        if size == 1 and grad.shape[i] != 1:
            grad = grad.sum(dim=i, keepdim=True)
    return grad
