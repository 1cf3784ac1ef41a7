"""Pictures for copying-scores: every head's copying score, and the eigenvalues of an induction
head's and a previous-token head's OV circuits in the complex plane; from the shipped circuits
model's weights (numpy), never by running the learner's file."""

from mi_exercise.site_builder.circuit_weights_figures import copying_figure, eigenvalue_figure, found_note, heads


def pictures(context):
    fig = copying_figure()
    fig["caption"] += " " + found_note(context, "copying heads")
    return [fig, eigenvalue_figure([heads("induction_heads")[0], heads("previous_token_heads")[0]])]
