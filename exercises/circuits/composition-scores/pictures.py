"""Pictures for composition-scores: the Q-, K- and V-composition scores of the shipped model (layer 0
into layer 1) in the interactive viewer, with the learner's own scores from their last check beside
them, and the attention patterns of every head. Computed in numpy from the shipped weights
(mi_exercise.site_builder.circuits_figures), never by running the learner's file."""

from mi_exercise.site_builder.circuits_figures import composition_matrix, composition_viewer, pattern_viewer, random_baseline


def pictures(context):
    baseline = random_baseline()
    k = composition_matrix("k")
    strongest = [f"0.{i} -> 1.{j}" for i, j in zip(*(k > 1.5 * baseline).nonzero())]
    return [
        dict(composition_viewer(context), caption=(
            f"Rows are layer-0 heads (writers), columns layer-1 heads (readers); choose the kind of composition. "
            f"Random matrices of a head's shapes score {baseline:.3f}; K-composition above 1.5 times that: "
            f"{', '.join(strongest) or 'none'}.")),
        dict(pattern_viewer(context), caption=(
            "Every head's attention pattern on one repeated sequence: 0.0 and 0.2 attend one position back, the "
            "layer-1 heads to the token after the earlier occurrence of the current token.")),
    ]
