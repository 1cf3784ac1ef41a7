"""TransformerLens basics: load a model, run it with a cache, read and recompute attention patterns.

Fill in each function, then run `mi-exercise check tl-basics`.
The model is the small attention-only transformer this project ships (2 layers, 4 heads per
layer, no MLPs). It loads into TransformerLens 4's TransformerBridge:

    from mi_exercise.models.induction import load_induction_model
    model = load_induction_model()            # or load_induction_model("cuda")
    logits, cache = model.run_with_cache(tokens)

Shapes are written in brackets. tokens is int64 [batch, pos].
"""

import torch

from mi_exercise.models.induction import load_induction_model  # noqa: F401  (use it in load_model)


def load_model(device: str = "cpu"):
    """Return the shipped induction model as a TransformerBridge on `device`, in eval mode."""
    raise NotImplementedError("load_model")


def model_shape(model) -> dict:
    """Return the model's sizes as plain ints, read from model.cfg:
    {"n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx"}."""
    raise NotImplementedError("model_shape")


def attention_pattern(model, tokens: torch.Tensor, layer: int) -> torch.Tensor:
    """Run the model on tokens [batch, pos] with a cache and return layer `layer`'s attention
    pattern [batch, n_heads, query_pos, key_pos] (each row sums to 1 over key_pos)."""
    raise NotImplementedError("attention_pattern")


def cached_qk(model, tokens: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the model on tokens with a cache and return layer `layer`'s queries and keys,
    each [batch, pos, n_heads, d_head], exactly as the cache holds them."""
    raise NotImplementedError("cached_qk")


def pattern_from_qk(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Recompute a causal attention pattern from queries and keys.

    q, k: [batch, pos, n_heads, d_head]. Return [batch, n_heads, query_pos, key_pos]:
    softmax over key_pos of q . k / sqrt(d_head), where a query may only attend to keys at
    its own position or earlier. Do not change q or k.
    """
    raise NotImplementedError("pattern_from_qk")


def most_attended_position(pattern: torch.Tensor) -> torch.Tensor:
    """For a pattern [batch, n_heads, query_pos, key_pos], return int64 [batch, n_heads, query_pos]:
    the key position each query attends to most; on a tie, the lowest such key position (as
    torch.argmax gives)."""
    raise NotImplementedError("most_attended_position")
