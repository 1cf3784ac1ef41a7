"""PosEmbed starts at row 1 of W_pos instead of row 0."""


def forward(self, tokens: torch.Tensor) -> torch.Tensor:
    """tokens [batch, seq] -> positional embeddings [batch, seq, d_model]: row p of W_pos at position p."""
    batch, seq = tokens.shape
    return self.W_pos[1 : seq + 1].unsqueeze(0).expand(batch, seq, -1)


PosEmbed.forward = forward
