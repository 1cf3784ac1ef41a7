"""The model unembeds the residual stream without the final LayerNorm."""


def forward(self, tokens: torch.Tensor) -> torch.Tensor:
    """tokens [batch, seq] (int64) -> logits [batch, seq, d_vocab]."""
    residual = self.embed(tokens) + self.pos_embed(tokens)
    for block in self.blocks:
        residual = block(residual)
    return self.unembed(residual)


GPT2.forward = forward
