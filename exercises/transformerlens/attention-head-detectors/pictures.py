"""Pictures for attention-head-detectors: each detector's score per head [layer x head] and the
attention patterns of the heads above the threshold, computed with the shipped model and the
reference definitions of the scores (never by running the learner's file)."""

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
KINDS = [("previous", "previous_token", "Previous-token score", "previous-token heads"),
         ("current", "current_token", "Current-token score", "current-token heads"),
         ("first", "first_token", "First-token score", "first-token heads")]


def pictures(context):
    scores, data = score_data(), pattern_data()
    figures, shown = [], []
    for kind, key, title, what in KINDS:
        found = heads_above(scores[key], THRESHOLD)
        figures.append(score_figure(
            scores[key], f"{title} per head",
            f"Rows are layers, columns heads; {SCORE_NOTE}. detect_heads(model, tokens, '{kind}', {THRESHOLD}) "
            f"finds {heads_text(found)}. " + (found_note(context, what) if found else "")))
        shown += [(h, what[:-1]) for h in found]
    for (layer, head), what in shown:
        figures.append(pattern_figure(data, layer, head, f"Head {layer}.{head}: a {what}", sequence_note(data)))
    return figures
