"""LayerNorm's centring moved onto the unembedding directions (x - mean(x)) . v = x . (v - mean(v)),
applied with matmul instead of einsum; head outputs as a broadcast product summed over d_head;
the labels from itertools.product; the halves from tensor_split; the ranking from argsort."""

import itertools


def head_outputs(z: torch.Tensor, W_O: torch.Tensor) -> torch.Tensor:
    # z [batch, pos, heads, d_head, 1] * W_O [heads, d_head, d_model], summed over d_head
    return (z[..., None] * W_O).sum(dim=-2)


def component_labels(n_layers: int, n_heads: int) -> list[str]:
    heads = [f"{layer}.{head}" for layer, head in itertools.product(range(n_layers), range(n_heads))]
    return ["embed", "pos_embed"] + heads + ["bias"]


def logit_attribution(components: torch.Tensor, scale: torch.Tensor, ln_weight: torch.Tensor,
                      W_U: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    directions = (W_U[:, tokens[:, 1:]] * ln_weight[:, None, None]).permute(1, 2, 0)  # [batch, pos - 1, d_model]
    directions = directions - directions.mean(dim=-1, keepdim=True)
    logits = (components[:, :-1] @ directions[..., None])[..., 0]  # [batch, pos - 1, n_components]
    return logits / scale[:, :-1]


def attribution_by_half(attribution: torch.Tensor, seq_len: int) -> torch.Tensor:
    return torch.stack([half.mean(dim=(0, 1)) for half in attribution.tensor_split([seq_len], dim=1)])


def top_components_on_repeat(attribution: torch.Tensor, seq_len: int, labels: list[str], k: int = 4) -> list[str]:
    second = attribution[:, seq_len:].mean(dim=(0, 1))
    return [labels[i] for i in torch.argsort(second, descending=True)[:k].tolist()]
