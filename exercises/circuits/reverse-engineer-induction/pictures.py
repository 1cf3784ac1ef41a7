"""Pictures for the capstone: the positional attention pattern of the chapter model's layer-0 heads, its
role map (1 previous-token head, 2 induction head) beside the learner's (from the heads their
find_circuit returned on attn-only-circuits in their last check), and every head's attention pattern
on the TransformerLens chapter's model. Reference computations in numpy (circuits_numpy,
circuits_figures), never the learner's file."""

from mi_exercise.models.circuits_numpy import positional_pattern
from mi_exercise.models.induction_files import model_info
from mi_exercise.site_builder.circuits_figures import learner_items, learner_note, pattern_viewer

MODEL = "attn-only-circuits"


def pictures(context):
    info = model_info(MODEL)
    cfg = info["model_config"]
    roles = [[0.0] * cfg["n_heads"] for _ in range(cfg["n_layers"])]
    for l, h in info["previous_token_heads"]:
        roles[l][h] = 1.0
    for l, h in info["induction_heads"]:
        roles[l][h] = 2.0
    n = 16
    labels = [str(p) for p in range(n)]
    return [
        {"kind": "viewer", "title": f"Positional attention of the layer-0 heads of {MODEL}",
         "items": [{"name": f"head 0.{h}", "data": positional_pattern(MODEL, 0, h, n)} for h in range(cfg["n_heads"])],
         "select_label": "head", "x_labels": labels, "y_labels": labels, "x_title": "key position",
         "y_title": "query position", "vmin": 0.0, "vmax": 1.0,
         "caption": ("softmax of pos_embed[q] W_QK pos_embed[k]^T / sqrt(d_head) over the keys, the first 16 positions "
                     "(through LNPre, tokens left out): a previous-token head puts its weight on key q - 1 from its "
                     "position embeddings alone; its offset is written in its weights.")},
        {"kind": "viewer", "title": f"Head roles of {MODEL}: 1 previous-token head, 2 induction head",
         "items": [{"name": "roles", "data": roles}], "learner": learner_items(context, {"roles": "roles"}),
         "learner_note": learner_note(context), "select_label": "map",
         "x_labels": [f"head {h}" for h in range(cfg["n_heads"])],
         "y_labels": [f"layer {l}" for l in range(cfg["n_layers"])], "x_title": "head", "y_title": "layer",
         "vmin": 0.0, "vmax": 2.0, "caption": "The chapter model's circuit as its config records it; after a check, "
                                               "what your find_circuit found on it beside it."},
        dict(pattern_viewer(context), title="Attention patterns of attn-only-induction (the TransformerLens chapter's model)",
             caption="Choose a head: which attend one position back, which to the token after the earlier occurrence "
                     "of the current one?"),
    ]
