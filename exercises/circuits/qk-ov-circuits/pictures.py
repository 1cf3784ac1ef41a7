"""Pictures for qk-ov-circuits: the positional pattern of every layer-0 head (a previous-token head
shows the diagonal just below the main one), an induction head's full OV circuit, and every head's
top-1 and top-5 copying accuracy; from the shipped circuits model's weights."""

from mi_exercise.site_builder.circuit_weights_figures import (
    POSITIONS,
    accuracy_figure,
    heads,
    heads_text,
    ov_circuit_figure,
    positional_figure,
)


def pictures(context):
    previous = heads("previous_token_heads")
    figures = []
    for head in range(4):
        what = "a previous-token head" if [0, head] in previous else "not a previous-token head"
        fig = positional_figure(0, head)
        fig["title"] = f"Head 0.{head} ({what}): positional pattern over {POSITIONS} positions"
        figures.append(fig)
    layer, head = heads("induction_heads")[0]
    figures.append(ov_circuit_figure(layer, head))
    figures += [accuracy_figure(1), accuracy_figure(5)]
    figures[-1]["caption"] += f" The model's induction heads are {heads_text(heads('induction_heads'))}."
    return figures
