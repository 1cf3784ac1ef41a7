"""The composition score without the norms: ||W_A @ W_B||_F, not divided by ||W_A||_F ||W_B||_F."""


def composition_score(W_A, W_B):
    return float((W_A @ W_B).norm())
