"""Corrupts the clean tokens in place, so the clean run is corrupted too."""


def corrupt_copied_token(tokens, seq_len, k, wrong):
    tokens[:, 2 + k] = wrong
    return tokens
