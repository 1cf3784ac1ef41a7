"""LayerNorm does not subtract the mean (an RMSNorm): it divides by the root mean square."""


def forward(self, residual: torch.Tensor) -> torch.Tensor:
    """residual [batch, seq, d_model] -> normalized [batch, seq, d_model]."""
    mean = residual.mean(dim=-1, keepdim=True)
    var = residual.pow(2).mean(dim=-1, keepdim=True)
    return residual / torch.sqrt(var + self.eps) * self.w + self.b


LayerNorm.forward = forward
