"""The induction offset measured from the query (key minus query, -(seq_len - 1)) instead of from the earlier occurrence of the query's token."""


def head_offsets(patterns, previous, induction, seq_len=SEQ_LEN):
    T = patterns[0].shape[-1]
    queries, second = torch.arange(1, T), torch.arange(1 + seq_len, T)
    prev = [best_offset(patterns[l][:, h], queries, queries, range(-4, 2)) for l, h in previous]
    ind = [best_offset(patterns[l][:, h], second, second, range(-seq_len - 1, -seq_len + 2)) for l, h in induction]
    most = lambda xs: max(set(xs), key=xs.count) if xs else 0  # noqa: E731
    return {"previous_token": most(prev), "induction": most(ind)}
