"""The model repeats one TransformerBlock object n_layers times, so all layers share weights."""


class GPT2(nn.Module):
    """The whole model: embed, pos_embed, blocks (an nn.ModuleList of n_layers TransformerBlocks),
    ln_final, unembed (submodules with these names)."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = dict(cfg)
        self.embed = Embed(cfg)
        self.pos_embed = PosEmbed(cfg)
        self.blocks = nn.ModuleList([TransformerBlock(cfg)] * cfg["n_layers"])
        self.ln_final = LayerNorm(cfg)
        self.unembed = Unembed(cfg)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, seq] (int64) -> logits [batch, seq, d_vocab]."""
        residual = self.embed(tokens) + self.pos_embed(tokens)
        for block in self.blocks:
            residual = block(residual)
        return self.unembed(self.ln_final(residual))
