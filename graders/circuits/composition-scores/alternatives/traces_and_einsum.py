"""composition-scores written differently: the norm from traces of the small d_head products (never
forming W_A @ W_B), all head pairs at once with einsum, uniform random factors for the baseline."""

import torch

from mi_exercise.models.induction import load_induction_model  # noqa: F401


def qk_ov_matrices(model):
    with torch.no_grad():
        W_QK = torch.einsum("lhmd,lhnd->lhmn", model.W_Q, model.W_K)
        W_OV = torch.einsum("lhmd,lhdn->lhmn", model.W_V, model.W_O)
    return W_QK, W_OV


def composition_score(W_A, W_B):
    # ||AB||_F^2 = trace(B^T A^T A B) = trace((A^T A)(B B^T)), a sum over the middle dimension
    num = torch.trace((W_A.T @ W_A) @ (W_B @ W_B.T)).clamp(min=0).sqrt()
    return float(num / (torch.linalg.matrix_norm(W_A) * torch.linalg.matrix_norm(W_B)))


def composition_scores(W_QK, W_OV, kind, writer_layer, reader_layer):
    if kind not in {"q", "k", "v"} or writer_layer >= reader_layer:
        raise ValueError(f"bad kind or layers: {kind!r}, {writer_layer} -> {reader_layer}")
    writers = W_OV[writer_layer]                                     # [h, m, n]
    readers = {"q": W_QK[reader_layer], "k": W_QK[reader_layer].transpose(-1, -2), "v": W_OV[reader_layer]}[kind]
    products = torch.einsum("imn,jnp->ijmp", writers, readers)
    norms = products.flatten(2).norm(dim=-1)
    return (norms / (writers.flatten(1).norm(dim=-1)[:, None] * readers.flatten(1).norm(dim=-1)[None, :])).cpu()


def random_baseline(d_model, d_head, n_samples=200, seed=0):
    gen = torch.Generator().manual_seed(seed + 1)
    total = 0.0
    for _ in range(n_samples):
        a, b = (torch.rand(d_model, d_head, generator=gen) - 0.5 for _ in range(2))
        c, d = (torch.rand(d_head, d_model, generator=gen) - 0.5 for _ in range(2))
        total += composition_score(a @ c, b @ d)
    return total / n_samples


def composition_pairs(scores, baseline, ratio=1.5):
    return [[int(i), int(j)] for i, j in (scores > ratio * baseline).nonzero().tolist()]
