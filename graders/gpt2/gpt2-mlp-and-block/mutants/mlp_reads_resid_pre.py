"""The MLP reads the block's input instead of the residual stream after attention."""


def forward(self, resid_pre: torch.Tensor) -> torch.Tensor:
    """resid_pre [batch, seq, d_model] -> resid_post [batch, seq, d_model]."""
    resid_mid = resid_pre + self.attn(self.ln1(resid_pre))
    return resid_mid + self.mlp(self.ln2(resid_pre))


TransformerBlock.forward = forward
