"""softmax_backward keeps only the diagonal of the Jacobian (s * grad_out), missing the subtraction
term."""


def softmax_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    s = softmax(x)
    return s * grad_out
