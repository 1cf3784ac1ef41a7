"""make_config updates GPT2_SMALL itself instead of a copy, so overrides leak into later calls."""


def make_config(**overrides) -> dict:
    """Return a new config dict: GPT2_SMALL with the given keys replaced.

    make_config() is GPT-2 small; make_config(d_model=64, n_heads=4) changes two sizes.
    A key that GPT2_SMALL does not have raises ValueError naming it. GPT2_SMALL itself must not change.
    """
    unknown = sorted(set(overrides) - set(GPT2_SMALL))
    if unknown:
        raise ValueError(f"unknown config keys {unknown}; known: {sorted(GPT2_SMALL)}")
    cfg = GPT2_SMALL
    cfg.update(overrides)
    return cfg
