"""Pictures for head-ablation, computed on the shipped model with the grader's reference code
(loaded from the exercise's solution_path at build time, so none of it is written here):

1. the repeated-half loss increase of ablating each head alone, [layer x head], zero and mean;
2. the per-token loss on one [BOS] + seq + seq sequence: clean, with the induction heads
   mean-ablated together, and with the previous-token heads mean-ablated together.
"""

from __future__ import annotations

import importlib.util

import torch

SEQ_LEN = 25


def _reference(exercise):
    spec = importlib.util.spec_from_file_location("mi_exercise_head_ablation_reference", exercise.solution_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _per_token_loss(logits: torch.Tensor, tokens: torch.Tensor) -> list[float]:
    log_probs = logits.log_softmax(dim=-1)[:, :-1].gather(-1, tokens[:, 1:, None])[..., 0]
    return (-log_probs[0]).tolist()


def pictures(context: dict) -> list[dict]:
    from mi_exercise.models.induction import induction_heads, load_induction_model, previous_token_heads, repeated_tokens

    ref = _reference(context["exercise"])
    model = load_induction_model()
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    tokens = repeated_tokens(SEQ_LEN, batch=16, seed=0)
    x_labels = [f"head {h}" for h in range(n_heads)]
    y_labels = [f"layer {layer}" for layer in range(n_layers)]
    induction = [list(h) for h in induction_heads()]
    previous = [list(h) for h in previous_token_heads()]
    figures = []
    with torch.no_grad():
        log_probs = model(tokens).log_softmax(dim=-1)[:, :-1].gather(-1, tokens[:, 1:, None])[..., 0]
    gap = float(log_probs[:, SEQ_LEN:].mean() - log_probs[:, :SEQ_LEN].mean())
    together = {kind: ref.half_loss_increase(model, tokens, SEQ_LEN, induction, kind)[1] for kind in ("zero", "mean")}
    for kind in ("zero", "mean"):
        per_head = ref.loss_increase_per_head(model, tokens, SEQ_LEN, kind)
        figures.append({
            "kind": "heatmap",
            "title": f"Repeated-half loss increase, each head {kind}-ablated alone",
            "data": per_head,
            "x_labels": x_labels, "y_labels": y_labels, "x_title": "head", "y_title": "layer",
            "vmin": 0.0, "vmax": max(2.0, float(per_head.max())),
            "caption": (f"{kind.capitalize()} ablation on repeated_tokens({SEQ_LEN}, batch=16): the largest single head "
                        f"costs {float(per_head.max()):.2f} nats, the induction heads {induction} one at a time "
                        f"{sum(float(per_head[l, h]) for l, h in induction):.2f} in all, ablated together "
                        f"{together[kind]:.2f}; copying saves {gap:.2f} nats per token on the repeated half."),
        })
    one = tokens[:1]
    means = ref.mean_activations(model, tokens)
    with torch.no_grad():
        clean = _per_token_loss(model(one), one)
    no_induction = _per_token_loss(ref.run_with_ablation(model, one, induction, means), one)
    no_previous = _per_token_loss(ref.run_with_ablation(model, one, previous, means), one)
    positions = list(range(1, len(clean) + 1))
    figures.append({
        "kind": "lines",
        "title": "Per-token loss on one repeated sequence",
        "series": {
            "clean": (positions, clean),
            f"induction heads {induction} mean-ablated": (positions, no_induction),
            f"previous-token heads {previous} mean-ablated": (positions, no_previous),
        },
        "x_title": f"predicted token (1..{SEQ_LEN}: first copy, {SEQ_LEN + 1}..{2 * SEQ_LEN}: repeated half)",
        "y_title": "loss (nats)",
        "log_y": False,
        "caption": ("Clean, the loss drops a few tokens into the repeat. Without the induction heads it stays at "
                    "chance through the repeated half; without the previous-token heads too, because the induction "
                    "heads find their target through keys those heads wrote."),
    })
    return figures
