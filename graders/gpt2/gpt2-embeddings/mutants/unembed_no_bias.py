"""Unembed forgets the bias b_U."""


def forward(self, normalized_resid_final: torch.Tensor) -> torch.Tensor:
    """normalized_resid_final [batch, seq, d_model] -> logits [batch, seq, d_vocab]."""
    return normalized_resid_final @ self.W_U


Unembed.forward = forward
