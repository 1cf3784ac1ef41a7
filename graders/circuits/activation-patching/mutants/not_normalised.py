"""The metric is not normalised: patched - corrupted, without dividing by clean - corrupted."""


def normalised(patched, clean, corrupted):
    return patched - corrupted
