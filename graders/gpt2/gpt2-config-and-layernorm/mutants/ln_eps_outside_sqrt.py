"""LayerNorm adds eps to the standard deviation instead of to the variance."""


def forward(self, residual: torch.Tensor) -> torch.Tensor:
    """residual [batch, seq, d_model] -> normalized [batch, seq, d_model]."""
    mean = residual.mean(dim=-1, keepdim=True)
    var = residual.var(dim=-1, keepdim=True, unbiased=False)
    return (residual - mean) / (torch.sqrt(var) + self.eps) * self.w + self.b


LayerNorm.forward = forward
