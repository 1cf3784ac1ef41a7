"""QK and OV circuits: what each head does, read from its weights alone.

Fill in each function, then run `mi-exercise check qk-ov-circuits`.

The model is a TransformerLens 4 TransformerBridge. Its weights (detach them before use):
    model.W_E [d_vocab, d_model]   model.W_pos [n_ctx, d_model]   model.W_U [d_model, d_vocab]
    model.W_Q, model.W_K, model.W_V [n_layers, n_heads, d_model, d_head]
    model.W_O [n_layers, n_heads, d_head, d_model]

    from mi_exercise.models.induction import load_circuits_model
    model = load_circuits_model()          # 2 layers x 4 heads, d_model 64, d_head 16, n_ctx 96
    qk = full_qk_circuit(model, 1)         # FactoredMatrix [4, 128, 128]
    qk.AB[0, 5, 7]                         # how much query token 5 attends to key token 7, head 1.0
"""

import torch
from transformer_lens import FactoredMatrix

from mi_exercise.models.induction import load_circuits_model, load_gpt2  # noqa: F401  (the grader loads the models through them)


def full_qk_circuit(model, layer: int) -> FactoredMatrix:
    """Every head's full QK circuit W_E W_Q W_Kᵀ W_Eᵀ in `layer`, kept factored: FactoredMatrix
    [n_heads, d_vocab, d_vocab] with A [n_heads, d_vocab, d_head]. Row = query token, column = key token."""
    raise NotImplementedError("full_qk_circuit")


def full_ov_circuit(model, layer: int) -> FactoredMatrix:
    """Every head's full OV circuit W_E W_V W_O W_U in `layer`, kept factored: FactoredMatrix
    [n_heads, d_vocab, d_vocab] with A [n_heads, d_vocab, d_head]. Row = the token attended to,
    column = the logit it raises."""
    raise NotImplementedError("full_ov_circuit")


def positional_pattern(model, layer: int, head: int, n_positions: int) -> torch.Tensor:
    """The attention pattern head `layer.head` would have from position embeddings alone:
    softmax over keys of the causal-masked P W_Q W_Kᵀ Pᵀ / sqrt(d_head), where P is the first
    n_positions rows of W_pos through LayerNorm without weights (each row minus its mean, divided
    by sqrt(mean of squares + model.cfg.eps)), as the model normalises before every head.
    [n_positions, n_positions], row = query position, each row sums to 1."""
    raise NotImplementedError("positional_pattern")


def top_k_copying_accuracy(circuit: FactoredMatrix, k: int = 1) -> float:
    """The share of source tokens t (rows of the [d_vocab, d_vocab] circuit) whose k largest
    entries include column t itself: how often the head, attending to t, raises t's logit most.
    Never form the whole matrix: take its rows a block at a time."""
    raise NotImplementedError("top_k_copying_accuracy")
