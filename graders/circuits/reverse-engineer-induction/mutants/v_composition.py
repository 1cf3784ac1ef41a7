"""The pairs measured with V-composition (the reader's W_OV) instead of K-composition (its W_QK^T)."""


def k_composition_pairs(model, previous, induction, ratio=1.5):
    with torch.no_grad():
        W_OV = (model.W_V @ model.W_O).cpu()
    baseline = random_baseline(model.cfg.d_model, model.cfg.d_head)
    return [[list(p), list(i)] for p in previous for i in induction
            if p[0] < i[0] and composition_score(W_OV[p[0], p[1]], W_OV[i[0], i[1]]) > ratio * baseline]
