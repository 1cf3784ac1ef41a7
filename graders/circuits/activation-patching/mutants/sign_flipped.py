"""The logit difference with its sign flipped: logit(wrong) - logit(correct)."""


def logit_difference(logits, pos, correct, wrong):
    at = logits[:, pos]
    return at.gather(-1, wrong[:, None])[:, 0] - at.gather(-1, correct[:, None])[:, 0]
