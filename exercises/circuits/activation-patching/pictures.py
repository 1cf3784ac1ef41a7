"""Pictures for activation-patching: the normalised logit difference after patching the residual stream
at each layer and position, and after patching each head's output, on the grader's finding inputs (12
tokens repeated, the first copy's 8th token corrupted, 8 sequences), in the viewer with the learner's own
maps from their last check beside them. Reference definitions in numpy (circuits_figures), never the
learner's file."""

from mi_exercise.site_builder.circuits_figures import learner_items, learner_note, patching_maps, residual_hook_names
from mi_exercise.site_builder.induction_figures import token_labels


def pictures(context):
    maps = patching_maps()
    s = maps["setup"]
    tokens = [f"{p}:{t}" for p, t in enumerate(token_labels(s["clean"][0].tolist()))]
    heads = maps["heads"]
    n_layers, n_heads = heads.shape
    common = {"kind": "viewer", "learner_note": learner_note(context), "vmin": -0.2, "vmax": 1.0}
    return [
        dict(common, title="Patching the residual stream, by layer and position",
             items=[{"name": "residual stream", "data": maps["residual"]}],
             learner=learner_items(context, {"residual_patching": "residual stream"}), select_label="activation",
             x_labels=tokens, y_labels=residual_hook_names(), x_title="position:token (first sequence's tokens)",
             y_title="hook",
             caption=(f"Clean mean logit difference {maps['clean']:.2f}, corrupted {maps['corrupted']:.2f}; 1 restores the "
                      f"clean run, 0 leaves it corrupted. Before layer 1 only position {2 + s['k']} (the corrupted token) "
                      f"matters; after it only the query at {s['pos']}: layer 1 moved the token there.")),
        dict(common, title="Patching each head's output (hook_z, every position)",
             items=[{"name": "heads", "data": heads}], learner=learner_items(context, {"head_patching": "heads"}),
             select_label="activation", x_labels=[f"head {h}" for h in range(n_heads)],
             y_labels=[f"layer {l}" for l in range(n_layers)], x_title="head", y_title="layer",
             caption=("Each induction head restores part of the copying (together "
                      f"{sum(heads[1]):.2f}); the layer-0 heads 0.1 and 0.3, which write the current token into the "
                      "stream the induction heads' values read, restore as much again; the previous-token heads 0.0 "
                      "and 0.2 restore nothing, because the token before the corrupted one did not change.")),
    ]
