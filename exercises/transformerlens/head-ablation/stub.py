"""Head ablation: knock heads out and see what the model loses.

Fill in each function, then run `mi-exercise check head-ablation`.

A head's output before the output projection is z = cache["blocks.L.attn.hook_z"]:
[batch, pos, n_heads, d_head]. Ablating head h of layer L replaces z[:, :, h] (every batch
and position) with zeros or with the head's mean output, through a hook on that name. Losses
are on [BOS] + seq + seq (T = 1 + 2 * seq_len tokens): the first seq_len predictions are of
the first copy, the last seq_len of the repeated half.

    from mi_exercise.models.induction import load_induction_model, repeated_tokens, induction_heads
    model = load_induction_model()
    tokens = repeated_tokens(seq_len=25, batch=16)
"""

import torch

from mi_exercise.models.induction import induction_heads, load_induction_model, repeated_tokens  # noqa: F401


def head_means(z: torch.Tensor) -> torch.Tensor:
    """z [batch, pos, n_heads, d_head] -> [n_heads, d_head]: each head's output averaged over
    the batch and the positions."""
    raise NotImplementedError("head_means")


def zero_ablate_head(z: torch.Tensor, head: int) -> torch.Tensor:
    """z [batch, pos, n_heads, d_head] -> a NEW tensor of the same shape with z[:, :, head] set
    to 0 and the other heads unchanged. z itself must not change (it may be a cached tensor)."""
    raise NotImplementedError("zero_ablate_head")


def mean_ablate_head(z: torch.Tensor, head: int, means: torch.Tensor) -> torch.Tensor:
    """z [batch, pos, n_heads, d_head], means [n_heads, d_head] -> a NEW tensor with
    z[:, :, head] replaced by means[head] at every batch and position. Neither z nor means
    may change."""
    raise NotImplementedError("mean_ablate_head")


def mean_activations(model, tokens: torch.Tensor) -> torch.Tensor:
    """The mean head outputs of a clean run on tokens [batch, T]: [n_layers, n_heads, d_head],
    row L = head_means of blocks.L.attn.hook_z."""
    raise NotImplementedError("mean_activations")


def run_with_ablation(model, tokens: torch.Tensor, heads: list, means: torch.Tensor | None = None) -> torch.Tensor:
    """Run the model on tokens [batch, T] with the heads in `heads` ([[layer, head], ...], may be
    empty) ablated through hooks on blocks.L.attn.hook_z: zero ablation when means is None,
    otherwise mean ablation with means [n_layers, n_heads, d_head]. Returns the logits
    [batch, T, d_vocab]. No hook may stay on the model afterwards."""
    raise NotImplementedError("run_with_ablation")


def half_loss_increase(model, tokens: torch.Tensor, seq_len: int, heads: list, ablation: str = "zero") -> tuple[float, float]:
    """tokens [batch, 1 + 2 * seq_len] = [BOS] + seq + seq. Ablate `heads` together ("zero",
    or "mean" with the means of a clean run on these tokens; anything else: ValueError) and
    return (first-half loss increase, repeated-half loss increase) over the clean run, as floats."""
    raise NotImplementedError("half_loss_increase")


def loss_increase_per_head(model, tokens: torch.Tensor, seq_len: int, ablation: str = "zero") -> torch.Tensor:
    """Ablate each head alone; return [n_layers, n_heads]: the repeated-half loss increase
    over the clean run for each head ("zero" or "mean", else ValueError)."""
    raise NotImplementedError("loss_increase_per_head")
