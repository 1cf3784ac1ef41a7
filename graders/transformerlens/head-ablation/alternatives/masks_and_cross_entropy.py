"""Ablation by masks (z times a keep-mask, torch.where for the means) instead of writing into a
clone, one hook per layer made with functools.partial, and the losses from the unreduced
F.cross_entropy instead of a gathered log_softmax."""

import functools

import torch.nn.functional as F


def head_means(z: torch.Tensor) -> torch.Tensor:
    return z.flatten(0, 1).mean(dim=0)


def _is_head(z: torch.Tensor, head: int) -> torch.Tensor:
    """[n_heads, 1]: True on the row of `head`, broadcasting over batch, position and d_head."""
    return (torch.arange(z.shape[2], device=z.device) == head)[:, None]


def zero_ablate_head(z: torch.Tensor, head: int) -> torch.Tensor:
    return z * (~_is_head(z, head)).to(z.dtype)


def mean_ablate_head(z: torch.Tensor, head: int, means: torch.Tensor) -> torch.Tensor:
    return torch.where(_is_head(z, head), means.to(z.dtype), z)


def _ablate(z, hook, heads: list[int], means):
    for head in heads:
        z = zero_ablate_head(z, head) if means is None else mean_ablate_head(z, head, means)
    return z


def run_with_ablation(model, tokens: torch.Tensor, heads, means=None) -> torch.Tensor:
    layers = sorted({int(layer) for layer, _ in heads})
    hooks = [(f"blocks.{layer}.attn.hook_z",
              functools.partial(_ablate, heads=[int(h) for lay, h in heads if int(lay) == layer],
                                means=None if means is None else means[layer]))
             for layer in layers]
    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=hooks)


def _half_losses(logits: torch.Tensor, tokens: torch.Tensor, seq_len: int) -> tuple[float, float]:
    nll = F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:], reduction="none")  # [batch, pos - 1]
    first, second = nll.tensor_split([seq_len], dim=1)
    return first.mean().item(), second.mean().item()
