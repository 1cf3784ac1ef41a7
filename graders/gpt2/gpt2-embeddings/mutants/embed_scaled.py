"""Embed multiplies by sqrt(d_model), as the original Transformer paper does but GPT-2 does not."""


def forward(self, tokens: torch.Tensor) -> torch.Tensor:
    """tokens [batch, seq] (int64) -> embeddings [batch, seq, d_model]."""
    return self.W_E[tokens] * math.sqrt(self.W_E.shape[1])


Embed.forward = forward
