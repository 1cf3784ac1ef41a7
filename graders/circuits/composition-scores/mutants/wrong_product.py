"""The Frobenius norm of the wrong product: ||W_B @ W_A||_F (AB and BA share eigenvalues, not norms)."""


def composition_score(W_A, W_B):
    return float((W_B @ W_A).norm() / (W_A.norm() * W_B.norm()))
