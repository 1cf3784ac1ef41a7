"""Pictures for tl-basics: the attention pattern of every head of the shipped model on a repeated
sequence, as attention_pattern(model, tokens, layer) returns them (computed with the shipped model
here, never by running the learner's file)."""

from mi_exercise.site_builder.induction_figures import passed, pattern_data, pattern_figure, sequence_note


def pictures(context):
    data = pattern_data()
    roles = {tuple(h): "a previous-token head" for h in data["previous_token_heads"]}
    roles.update({tuple(h): "an induction head" for h in data["induction_heads"]})
    mine = (" Your attention_pattern passed the grader, so it returns these same patterns."
            if passed(context) else "")
    figures = []
    for layer, heads in enumerate(data["patterns"]):
        for head in range(len(heads)):
            role = roles.get((layer, head))
            title = f"Layer {layer}, head {head}" + (f" ({role})" if role else "")
            figures.append(pattern_figure(
                data, layer, head, title,
                f"cache['blocks.{layer}.attn.hook_pattern'][0, {head}] of the shipped model. "
                + sequence_note(data) + mine))
    return figures
