"""W_U read along the wrong axis: the row W_U[t] is taken as token t's direction, as if W_U were
[d_vocab, d_model] like W_E."""


def logit_attribution(components: torch.Tensor, scale: torch.Tensor, ln_weight: torch.Tensor,
                      W_U: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    comps = components[:, :-1]                                   # position p predicts tokens[:, p + 1]
    centred = comps - comps.mean(dim=-1, keepdim=True)
    normed = centred / scale[:, :-1, None] * ln_weight            # [batch, pos - 1, n_components, d_model]
    directions = W_U[tokens[:, 1:]].permute(2, 0, 1)             # [d_model, batch, pos - 1]
    return torch.einsum("bpcd,dbp->bpc", normed, directions)
