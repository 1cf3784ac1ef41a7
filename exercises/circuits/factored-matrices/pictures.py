"""Pictures for factored-matrices: the singular values of every head's full QK circuit (rank d_head),
and the eigenvalues of one OV circuit as AB and as BA, from the shipped circuits model's weights."""

from mi_exercise.site_builder.circuit_weights_figures import ab_ba_eigenvalues_figure, heads, qk_singular_values_figure


def pictures(context):
    layer, head = heads("induction_heads")[0]
    return [qk_singular_values_figure(), ab_ba_eigenvalues_figure(layer, head)]
