"""logit_attribution forgets that LayerNorm centres: each component's mean over d_model is not
subtracted."""


def logit_attribution(components: torch.Tensor, scale: torch.Tensor, ln_weight: torch.Tensor,
                      W_U: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    comps = components[:, :-1]                                   # position p predicts tokens[:, p + 1]
    centred = comps
    normed = centred / scale[:, :-1, None] * ln_weight            # [batch, pos - 1, n_components, d_model]
    directions = W_U[:, tokens[:, 1:]]                            # [d_model, batch, pos - 1]
    return torch.einsum("bpcd,dbp->bpc", normed, directions)
