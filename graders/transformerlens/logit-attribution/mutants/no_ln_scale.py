"""logit_attribution ignores the final LayerNorm's scale: components are centred and weighted but not
divided by ln_final.hook_scale."""


def logit_attribution(components: torch.Tensor, scale: torch.Tensor, ln_weight: torch.Tensor,
                      W_U: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    comps = components[:, :-1]                                   # position p predicts tokens[:, p + 1]
    centred = comps - comps.mean(dim=-1, keepdim=True)
    normed = centred * ln_weight            # [batch, pos - 1, n_components, d_model]
    directions = W_U[:, tokens[:, 1:]]                            # [d_model, batch, pos - 1]
    return torch.einsum("bpcd,dbp->bpc", normed, directions)
