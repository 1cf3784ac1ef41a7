"""V-composition computed as K-composition: the reader's W_QK^T stands where its W_OV belongs."""


def reader_matrix(W_QK, W_OV, kind, layer, head):
    return W_QK[layer, head] if kind == "q" else W_QK[layer, head].T
