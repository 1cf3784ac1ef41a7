"""The block drops the residual connection around attention."""


def forward(self, resid_pre: torch.Tensor) -> torch.Tensor:
    """resid_pre [batch, seq, d_model] -> resid_post [batch, seq, d_model]."""
    resid_mid = self.attn(self.ln1(resid_pre))
    return resid_mid + self.mlp(self.ln2(resid_mid))


TransformerBlock.forward = forward
