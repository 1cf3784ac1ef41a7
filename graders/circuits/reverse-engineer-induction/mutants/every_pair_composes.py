"""Every (previous-token head, induction head) pair listed as K-composing, without measuring the composition."""


def k_composition_pairs(model, previous, induction, ratio=1.5):
    return [[list(p), list(i)] for p in previous for i in induction if p[0] < i[0]]
