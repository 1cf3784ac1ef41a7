"""Pictures for repeated-tokens: the shipped model's loss on each token of [BOS] + seq + seq, the
first copy against the repeated one (computed with the shipped model, never by running the
learner's file)."""

from mi_exercise.site_builder.induction_figures import figure_data, passed

SEQ_LEN, BATCH = 30, 16


def pictures(context):
    data = figure_data(seq_len=SEQ_LEN, seed=0, batch=BATCH)
    loss = data["mean_per_token_loss"]  # position i predicts token i + 1
    first, second = loss[:SEQ_LEN], loss[SEQ_LEN:]
    mean_first, mean_second = sum(first) / len(first), sum(second) / len(second)
    mine = " Your loss_by_half passed the grader, so it gives these two means." if passed(context) else ""
    return [{
        "kind": "lines", "title": "Loss on each token of [BOS] + seq + seq",
        "series": {"first copy (random tokens)": (list(range(1, SEQ_LEN + 1)), first),
                   "second copy (repeated)": (list(range(SEQ_LEN + 1, 2 * SEQ_LEN + 1)), second)},
        "x_title": "position of the predicted token", "y_title": "loss (nats)", "log_y": False,
        "caption": (f"Cross-entropy of the shipped model's prediction of each token, averaged over {BATCH} random "
                    f"sequences with seq_len {SEQ_LEN}. First copy: {mean_first:.2f} nats, about ln(127) = 4.84, "
                    f"a guess among the non-BOS tokens; second copy: {mean_second:.2f} nats, because the induction "
                    "heads copy the token that followed the current one last time (the first token or two of the "
                    "copy cannot be predicted yet)." + mine),
    }]
