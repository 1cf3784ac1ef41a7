"""Activation patching: which activations carry the copied token from the clean run?

Fill in each function, then run `mi-exercise check activation-patching`.

clean = [BOS] + seq + seq (T = 1 + 2 * seq_len). The query at position pos = 1 + seq_len + k holds
seq[k] in the second copy and should predict seq[k + 1], which the first copy holds at 2 + k.
The corrupted run replaces that one token of the first copy with another, `wrong`.

    from mi_exercise.models.induction import load_induction_model, repeated_tokens
    model = load_induction_model()
    clean = repeated_tokens(seq_len=12, batch=8, seed=3)
"""

import torch

from mi_exercise.models.induction import load_induction_model, repeated_tokens  # noqa: F401


def residual_hook_names(n_layers: int) -> list[str]:
    """The residual stream before each layer, then after the last one (given, not graded)."""
    return [f"blocks.{layer}.hook_resid_pre" for layer in range(n_layers)] + [f"blocks.{n_layers - 1}.hook_resid_post"]


def corrupt_copied_token(tokens: torch.Tensor, seq_len: int, k: int, wrong: torch.Tensor) -> torch.Tensor:
    """A NEW tensor: tokens [batch, 1 + 2 * seq_len] with the first copy's seq[k + 1] replaced by
    wrong [batch] (one token per row). tokens must not change."""
    raise NotImplementedError("corrupt_copied_token")


def logit_difference(logits: torch.Tensor, pos: int, correct: torch.Tensor, wrong: torch.Tensor) -> torch.Tensor:
    """[batch]: logits[b, pos, correct[b]] - logits[b, pos, wrong[b]]; logits [batch, T, d_vocab]."""
    raise NotImplementedError("logit_difference")


def normalised(patched, clean, corrupted):
    """The patched metric on a scale where the corrupted run is 0 and the clean run is 1."""
    raise NotImplementedError("normalised")


def patch_residual(model, corrupted: torch.Tensor, clean_resid: torch.Tensor, hook_name: str, pos: int) -> torch.Tensor:
    """Logits [batch, T, d_vocab] of the corrupted run with the residual stream at hook_name (one of
    residual_hook_names) replaced at position pos only by the clean run's, clean_resid [batch, T,
    d_model]. No hook may stay on the model."""
    raise NotImplementedError("patch_residual")


def patch_head(model, corrupted: torch.Tensor, clean_z: torch.Tensor, layer: int, head: int) -> torch.Tensor:
    """Logits of the corrupted run with head `head` of `layer`'s output (blocks.L.attn.hook_z) replaced
    at every position by the clean run's, clean_z [batch, T, n_heads, d_head]."""
    raise NotImplementedError("patch_head")


def residual_patching(model, clean, corrupted, pos, correct, wrong) -> torch.Tensor:
    """[n_layers + 1, T]: normalised(mean logit difference at pos) after patching each residual_hook_names
    hook at each position, against the clean and corrupted runs' mean logit differences."""
    raise NotImplementedError("residual_patching")


def head_patching(model, clean, corrupted, pos, correct, wrong) -> torch.Tensor:
    """[n_layers, n_heads]: the normalised mean logit difference after patching each head's output."""
    raise NotImplementedError("head_patching")
