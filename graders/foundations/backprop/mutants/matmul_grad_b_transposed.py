"""matmul_backward computes grad_b as grad_out^T @ a, the transpose of the right answer."""


def matmul_backward(a: torch.Tensor, b: torch.Tensor, grad_out: torch.Tensor):
    grad_a = grad_out @ b.transpose(-1, -2)
    grad_b = grad_out.transpose(-1, -2) @ a
    return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)
