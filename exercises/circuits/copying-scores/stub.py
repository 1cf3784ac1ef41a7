"""Copying scores: which heads copy the token they attend to, from the eigenvalues of their OV circuits.

Fill in each function, then run `mi-exercise check copying-scores` (and with GPT-2 small's
weights in your Hugging Face cache, `mi-exercise check copying-scores --model gpt2`).

A head's full OV circuit W_E W_V W_O W_U [d_vocab, d_vocab] has rank d_head; its nonzero
eigenvalues are those of the small d_head x d_head matrix BA = (W_O W_U)(W_E W_V).

    from mi_exercise.models.induction import load_circuits_model, load_gpt2
    model = load_circuits_model()       # 2 layers x 4 heads; previous-token heads in layer 0, induction heads in layer 1
    gpt2 = load_gpt2()                  # GPT-2 small, when its weights are in the Hugging Face cache
"""

import torch
from transformer_lens import FactoredMatrix  # noqa: F401  (FactoredMatrix(A, B).eigenvalues: the eigenvalues of BA)

from mi_exercise.models.induction import load_circuits_model, load_gpt2  # noqa: F401  (the grader loads the models through them)


def ov_eigenvalues(model) -> torch.Tensor:
    """The d_head eigenvalues of every head's full OV circuit W_E W_V W_O W_U that can be nonzero:
    complex [n_layers, n_heads, d_head]. Never form a d_vocab x d_vocab matrix."""
    raise NotImplementedError("ov_eigenvalues")


def copying_score(eigenvalues: torch.Tensor) -> torch.Tensor:
    """Re(Σλ) / Σ|λ| over the last dim: 1 when every eigenvalue is positive, -1 when all are negative.
    eigenvalues [..., n] complex -> [...] real."""
    raise NotImplementedError("copying_score")


def copying_heads(model, threshold: float = 0.7) -> list[list[int]]:
    """The heads whose copying score is above threshold, as [[layer, head], ...] sorted by layer then head."""
    raise NotImplementedError("copying_heads")
