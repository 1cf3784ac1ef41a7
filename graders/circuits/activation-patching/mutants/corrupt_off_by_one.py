"""Corrupts position 1 + k (the earlier occurrence of the query's own token) instead of 2 + k, the token to copy."""


def corrupt_copied_token(tokens, seq_len, k, wrong):
    corrupted = tokens.clone()
    corrupted[:, 1 + k] = wrong
    return corrupted
