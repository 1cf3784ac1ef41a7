"""Reference solution for logit-attribution."""

import torch


def head_outputs(z: torch.Tensor, W_O: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bphd,hdm->bphm", z, W_O)


def component_labels(n_layers: int, n_heads: int) -> list[str]:
    heads = [f"{layer}.{head}" for layer in range(n_layers) for head in range(n_heads)]
    return ["embed", "pos_embed", *heads, "bias"]


def residual_components(model, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
        embed = cache["hook_embed"]
        parts = [embed, cache["hook_pos_embed"]]
        for layer in range(model.cfg.n_layers):
            outs = head_outputs(cache[f"blocks.{layer}.attn.hook_z"], model.W_O[layer])
            parts.extend(outs.unbind(dim=2))
        parts.append(model.b_O.sum(dim=0).expand_as(embed))
        return torch.stack(parts, dim=2), cache["ln_final.hook_scale"]


def logit_attribution(components: torch.Tensor, scale: torch.Tensor, ln_weight: torch.Tensor,
                      W_U: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    comps = components[:, :-1]                                   # position p predicts tokens[:, p + 1]
    centred = comps - comps.mean(dim=-1, keepdim=True)
    normed = centred / scale[:, :-1, None] * ln_weight            # [batch, pos - 1, n_components, d_model]
    directions = W_U[:, tokens[:, 1:]]                            # [d_model, batch, pos - 1]
    return torch.einsum("bpcd,dbp->bpc", normed, directions)


def attribution_by_half(attribution: torch.Tensor, seq_len: int) -> torch.Tensor:
    first = attribution[:, :seq_len].mean(dim=(0, 1))
    second = attribution[:, seq_len:].mean(dim=(0, 1))
    return torch.stack([first, second])


def top_components_on_repeat(attribution: torch.Tensor, seq_len: int, labels: list[str], k: int = 4) -> list[str]:
    second = attribution_by_half(attribution, seq_len)[1]
    return [labels[i] for i in second.topk(k).indices.tolist()]
