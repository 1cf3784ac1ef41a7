"""Pictures for head-ablation, computed with the numpy copy of the shipped model
(mi_exercise.models.induction_numpy, whose zero and mean ablation tests/test_induction_model.py
checks equal to the exercise's reference solution on the TransformerBridge), never with the
learner's file:

1. the repeated-half loss increase of ablating each head alone, [layer x head], zero and mean;
2. the per-token loss on one [BOS] + seq + seq sequence: clean, with the induction heads
   mean-ablated together, and with the previous-token heads mean-ablated together.
"""

from __future__ import annotations

from mi_exercise.models.induction_numpy import (ablated_logits, forward, half_loss_increase, half_losses,
                                                loss_increase_per_head, mean_z, model_info, per_token_loss,
                                                repeated_tokens)

SEQ_LEN = 25


def pictures(context: dict) -> list[dict]:
    info = model_info()
    n_layers, n_heads = info["model_config"]["n_layers"], info["model_config"]["n_heads"]
    tokens = repeated_tokens(SEQ_LEN, batch=16, seed=0)
    x_labels = [f"head {h}" for h in range(n_heads)]
    y_labels = [f"layer {layer}" for layer in range(n_layers)]
    induction = [list(h) for h in info["induction_heads"]]
    previous = [list(h) for h in info["previous_token_heads"]]
    figures = []
    first, second = half_losses(forward(tokens)[0], tokens, SEQ_LEN)
    gap = first - second
    together = {kind: half_loss_increase(tokens, SEQ_LEN, induction, kind)[1] for kind in ("zero", "mean")}
    for kind in ("zero", "mean"):
        per_head = loss_increase_per_head(tokens, SEQ_LEN, kind)
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
    means = mean_z(tokens)
    clean = per_token_loss(forward(one)[0], one)[0].tolist()
    no_induction = per_token_loss(ablated_logits(one, induction, means), one)[0].tolist()
    no_previous = per_token_loss(ablated_logits(one, previous, means), one)[0].tolist()
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
