"""Corrupts the wrong half: seq[k + 1] of the second copy, after the query, which cannot change its prediction."""


def corrupt_copied_token(tokens, seq_len, k, wrong):
    corrupted = tokens.clone()
    corrupted[:, 2 + k + seq_len] = wrong
    return corrupted
