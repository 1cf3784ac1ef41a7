"""gelu_new is the exact (erf) GELU instead of GPT-2's tanh approximation."""


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's GELU, the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
