"""K-composition computed with the reader's W_QK itself instead of W_QK^T (the same as Q-composition)."""


def reader_matrix(W_QK, W_OV, kind, layer, head):
    return W_OV[layer, head] if kind == "v" else W_QK[layer, head]
