"""Pictures for induction-scores: the induction score of every head [layer x head] and the attention
pattern of each induction head, computed with the shipped model and the reference definition of the
score (never by running the learner's file)."""

from mi_exercise.site_builder.induction_figures import (
    SCORE_NOTE,
    found_note,
    heads_above,
    heads_text,
    pattern_data,
    pattern_figure,
    score_data,
    score_figure,
    sequence_note,
)

THRESHOLD = 0.4


def pictures(context):
    scores, data = score_data()["induction"], pattern_data()
    found = heads_above(scores, THRESHOLD)
    figures = [score_figure(
        scores, "Induction score per head",
        f"Rows are layers, columns heads; {SCORE_NOTE}. find_induction_heads(scores, {THRESHOLD}) finds "
        f"{heads_text(found)}. " + found_note(context, "induction heads"))]
    back = data["seq_len"] - 1
    for layer, head in found:
        figures.append(pattern_figure(
            data, layer, head, f"Head {layer}.{head}: an induction head",
            sequence_note(data) + f" In the second copy each query attends {back} positions back, to the token "
            "after the previous occurrence of its own token: the stripe below the diagonal."))
    return figures
