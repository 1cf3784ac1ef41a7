"""Pictures for the capstone: every head's attention pattern (viewer), the positional QK scores of the
previous-token heads, and the role map (1 previous-token head, 2 induction head) of the shipped model
beside the learner's, from the heads their find_circuit returned in their last check. Reference
computations in numpy (circuits_figures), never the learner's file."""

from mi_exercise.models.induction_numpy import model_info
from mi_exercise.site_builder.circuits_figures import learner_items, learner_note, pattern_viewer, positional_qk


def pictures(context):
    info = model_info()
    cfg = info["model_config"]
    roles = [[0.0] * cfg["n_heads"] for _ in range(cfg["n_layers"])]
    for l, h in info["previous_token_heads"]:
        roles[l][h] = 1.0
    for l, h in info["induction_heads"]:
        roles[l][h] = 2.0
    figures = [dict(pattern_viewer(context), caption="Choose a head: which attend one position back, which to the "
                                                      "token after the earlier occurrence of the current one?")]
    n = 16
    labels = [str(p) for p in range(n)]
    figures.append({"kind": "viewer", "title": "Positional QK scores of the layer-0 heads",
                    "items": [{"name": f"head 0.{h}", "data": positional_qk(0, h, n)} for h in range(cfg["n_heads"])],
                    "select_label": "head", "x_labels": labels, "y_labels": labels, "x_title": "key position",
                    "y_title": "query position",
                    "caption": ("pos_embed[q] @ W_QK @ pos_embed[k] / sqrt(d_head) for the first 16 positions (the "
                                "future masked, LayerNorm left out). A previous-token head scores key q - 1 highest in "
                                "every row: its offset is written in its weights.")})
    figures.append({"kind": "viewer", "title": "Head roles: 1 previous-token head, 2 induction head",
                    "items": [{"name": "roles", "data": roles}], "learner": learner_items(context, {"roles": "roles"}),
                    "learner_note": learner_note(context), "select_label": "map",
                    "x_labels": [f"head {h}" for h in range(cfg["n_heads"])],
                    "y_labels": [f"layer {l}" for l in range(cfg["n_layers"])], "x_title": "head", "y_title": "layer",
                    "vmin": 0.0, "vmax": 2.0, "caption": "The shipped model's circuit; after a check, yours beside it."})
    return figures
