"""The block applies LayerNorm after each residual addition (post-LN, the original Transformer) instead
of before each sublayer."""


def forward(self, resid_pre: torch.Tensor) -> torch.Tensor:
    """resid_pre [batch, seq, d_model] -> resid_post [batch, seq, d_model]."""
    resid_mid = self.ln1(resid_pre + self.attn(resid_pre))
    return self.ln2(resid_mid + self.mlp(resid_mid))


TransformerBlock.forward = forward
