"""Direct logit attribution: which component writes the correct next token's logit?

Fill in each function, then run `mi-exercise check logit-attribution`.

The shipped model is attention-only: its final residual stream is a plain sum of components
(token embedding, positional embedding, the output of every head, the attention output
biases). The final LayerNorm and the unembedding act on that sum; freezing the LayerNorm's
scale at its cached value makes the logit a sum of one term per component.

Shapes: tokens [batch, pos]; components [batch, pos, n_components, d_model] with
n_components = 2 + n_layers * n_heads + 1, in the order of component_labels; attribution
[batch, pos - 1, n_components] (position p predicts tokens[:, p + 1]).

    from mi_exercise.models.induction import load_induction_model, repeated_tokens
    model = load_induction_model()
    tokens = repeated_tokens(seq_len=20, batch=4)     # [4, 41]: [BOS] + seq + seq
    logits, cache = model.run_with_cache(tokens)
"""

import torch

from mi_exercise.models.induction import load_induction_model, repeated_tokens  # noqa: F401


def head_outputs(z: torch.Tensor, W_O: torch.Tensor) -> torch.Tensor:
    """One layer's per-head outputs. z [batch, pos, n_heads, d_head] (the cached hook_z),
    W_O [n_heads, d_head, d_model] (model.W_O[layer]) -> [batch, pos, n_heads, d_model]:
    what each head writes into the residual stream, before the layer's bias b_O."""
    raise NotImplementedError("head_outputs")


def component_labels(n_layers: int, n_heads: int) -> list[str]:
    """The names of the components, in order: "embed", "pos_embed", then every head as
    "layer.head" ("0.0", "0.1", ..., layer by layer), then "bias".
    Length 2 + n_layers * n_heads + 1."""
    raise NotImplementedError("component_labels")


def residual_components(model, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the model on tokens [batch, pos] with a cache and split its final residual stream.

    Returns (components [batch, pos, n_components, d_model], scale [batch, pos, 1]):
    components in the order of component_labels: the token embedding (hook_embed), the
    positional embedding (hook_pos_embed), each head's output (head_outputs of every layer),
    and the sum of every layer's b_O at every position. They add up to the residual stream
    the final LayerNorm reads (ln_final.hook_in). scale is the final LayerNorm's cached scale
    (ln_final.hook_scale)."""
    raise NotImplementedError("residual_components")


def logit_attribution(components: torch.Tensor, scale: torch.Tensor, ln_weight: torch.Tensor,
                      W_U: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Each component's direct contribution to the logit of the correct NEXT token.

    components [batch, pos, n_components, d_model], scale [batch, pos, 1] (final LayerNorm's
    scale), ln_weight [d_model] (model.ln_final.w), W_U [d_model, d_vocab], tokens [batch, pos]
    -> [batch, pos - 1, n_components]. At position p, a component c contributes
    ((c - mean(c)) / scale[p]) * ln_weight . W_U[:, tokens[p + 1]]
    (mean over d_model). Summed over the components, plus (ln_final.b @ W_U + b_U) at the
    next token, this is the model's logit for that token."""
    raise NotImplementedError("logit_attribution")


def attribution_by_half(attribution: torch.Tensor, seq_len: int) -> torch.Tensor:
    """attribution [batch, 2 * seq_len, n_components] on [BOS] + seq + seq -> [2, n_components]:
    row 0 the mean (over the batch and positions) over the predictions of the first copy,
    row 1 over the predictions of the second copy."""
    raise NotImplementedError("attribution_by_half")


def top_components_on_repeat(attribution: torch.Tensor, seq_len: int, labels: list[str], k: int = 4) -> list[str]:
    """The labels of the k components with the largest mean attribution over the predictions
    of the second copy, largest first."""
    raise NotImplementedError("top_components_on_repeat")
