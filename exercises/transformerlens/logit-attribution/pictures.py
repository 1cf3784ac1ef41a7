"""Pictures for the logit-attribution page: the shipped model's direct logit attribution on one
[BOS] + seq + seq sequence, computed with the numpy copy of the shipped model
(mi_exercise.models.induction_numpy, checked equal to the reference solution on the
TransformerBridge by tests/test_induction_model.py), never with the learner's file, so the page
shows what a correct answer finds."""

from __future__ import annotations

from mi_exercise.models.induction_numpy import component_labels, logit_attribution, model_info, repeated_tokens

SEQ_LEN = 20


def pictures(context: dict) -> list[dict]:
    tokens = repeated_tokens(SEQ_LEN, batch=1, seed=0)
    attribution = logit_attribution(tokens)  # [1, 2n, C]
    # attribution_by_half: the mean over the predictions of each copy, [2, C]
    halves = [attribution[:, :SEQ_LEN].mean((0, 1)).tolist(), attribution[:, SEQ_LEN:].mean((0, 1)).tolist()]
    labels = component_labels()
    predicted = [f"{m + 1}" for m in range(SEQ_LEN)] + [f"{m + 1}'" for m in range(SEQ_LEN)]
    heads = ", ".join(f"{layer}.{head}" for layer, head in model_info()["induction_heads"])
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
