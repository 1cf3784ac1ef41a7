"""Pictures for the logit-attribution page: the shipped model's direct logit attribution on one
[BOS] + seq + seq sequence, computed with the exercise's reference solution (never with the
learner's file), so the page shows what a correct answer finds."""

from __future__ import annotations

import importlib.util

SEQ_LEN = 20


def _reference(exercise):
    spec = importlib.util.spec_from_file_location("mi_exercise_logit_attribution_reference", exercise.solution_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pictures(context: dict) -> list[dict]:
    import torch

    from mi_exercise.models.induction import induction_heads, load_induction_model, repeated_tokens

    ref = _reference(context["exercise"])
    model = load_induction_model()
    tokens = repeated_tokens(SEQ_LEN, batch=1, seed=0, d_vocab=model.cfg.d_vocab)
    with torch.no_grad():
        components, scale = ref.residual_components(model, tokens)
        attribution = ref.logit_attribution(components, scale, model.ln_final.w, model.W_U, tokens)  # [1, 2n, C]
        halves = ref.attribution_by_half(attribution, SEQ_LEN)  # [2, C]
    labels = ref.component_labels(model.cfg.n_layers, model.cfg.n_heads)
    predicted = [f"{m + 1}" for m in range(SEQ_LEN)] + [f"{m + 1}'" for m in range(SEQ_LEN)]
    heads = ", ".join(f"{layer}.{head}" for layer, head in induction_heads())
    return [
        {
            "kind": "heatmap",
            "title": "Direct logit attribution per component and position",
            "data": attribution[0].T,
            "y_labels": labels,
            "x_labels": predicted,
            "y_title": "component",
            "x_title": "token predicted: first copy 1..20, second copy 1'..20'",
            "caption": (f"Each cell is one component's contribution to the logit of the correct next token, on one "
                        f"[BOS] + seq + seq sequence (seq_len {SEQ_LEN}) through the shipped model. The first copy is "
                        f"random and nothing writes its tokens; on the second copy the induction heads ({heads}) "
                        f"carry the logit from about the fourth token of the copy on (they match the current and the "
                        f"previous token, so they need a few tokens of the copy to lock on)."),
        },
        {
            "kind": "heatmap",
            "title": "Mean attribution on each copy",
            "data": halves,
            "y_labels": ["first copy", "second copy"],
            "x_labels": labels,
            "x_title": "component",
            "caption": "attribution_by_half of the same sequence: the mean over the predictions of each copy. "
                       "top_components_on_repeat ranks the second row.",
        },
    ]
