"""Grader for composition-scores. The learner's W_QK and W_OV are compared with the reference's on
the shipped model; composition_score and composition_scores on seeded matrices (non-square,
square, the shipped model's own); random_baseline by outcome (its mean must land where random
matrices of a head's shapes land, whatever the seed); last, the learner's functions must single
out, on the shipped model, exactly the previous-token -> induction K-composition pairs that the
trusted side reads from the model's config. Each classic mistake is named when it is recognised."""

import math

import pytest
import torch

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.induction import induction_heads, load_induction_model, previous_token_heads
from mi_exercise.runner.outcomes import LearnerError


@pytest.fixture(scope="module")
def trusted():
    return load_induction_model()


@pytest.fixture
def circuits(trusted, reference):
    return reference.qk_ov_matrices(trusted)



def randn(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def close(a, b, tol: float = 1e-4) -> bool:
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a.float().cpu(), b.float(), rtol=tol, atol=tol)


def test_qk_ov_matrices(submission, trusted, circuits, device, shipped_model):
    got = submission.qk_ov_matrices(shipped_model("induction", device))
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"qk_ov_matrices(model) must return (W_QK, W_OV), got {type(got).__name__}")
    W_QK, W_OV = got
    expected_qk, expected_ov = circuits
    cfg = trusted.cfg
    small = [cfg.n_layers, cfg.n_heads, cfg.d_head, cfg.d_head]
    if isinstance(W_QK, torch.Tensor) and list(W_QK.shape) == small:
        fail(f"W_QK has shape {small}: you multiplied the factors in the other order (W_Q^T @ W_K, d_head x d_head). "
             "That small matrix has the same nonzero eigenvalues as W_Q @ W_K^T (AB and BA share them), but it is a "
             "different matrix: it acts on head space, not on the residual stream, and composition needs the "
             "d_model x d_model one")
    if isinstance(W_OV, torch.Tensor) and list(W_OV.shape) == small:
        fail(f"W_OV has shape {small}: W_O @ W_V is d_head x d_head. A head reads x @ W_V and writes (x @ W_V) @ W_O, "
             "so its OV circuit is W_V @ W_O, d_model x d_model (AB and BA share their nonzero eigenvalues, nothing else)")
    if close(W_QK, expected_qk.transpose(-1, -2)) and not close(W_QK, expected_qk):
        fail("W_QK is the transpose of the QK circuit: W_K and W_Q swapped places (W_K @ W_Q^T). The score is "
             "x_q @ W_Q @ (x_k @ W_K)^T = x_q @ (W_Q @ W_K^T) @ x_k^T, so the query's factor comes first")
    assert_close(W_QK, expected_qk, name="W_QK = W_Q @ W_K^T [n_layers, n_heads, d_model, d_model]", device=device,
                 rtol=1e-4, atol=1e-5)
    if close(W_OV, expected_ov.transpose(-1, -2)) and not close(W_OV, expected_ov):
        fail("W_OV is the transpose of the OV circuit (W_O^T @ W_V^T): with row vectors a head writes x @ W_V @ W_O")
    assert_close(W_OV, expected_ov, name="W_OV = W_V @ W_O [n_layers, n_heads, d_model, d_model]", device=device,
                 rtol=1e-4, atol=1e-5)


def test_composition_score(submission, reference, device):
    cases = [("W_A [6, 6], W_B [6, 6]", randn(2, 6, 6), randn(3, 6, 6)),
             ("W_A [5, 7], W_B [7, 3]", randn(0, 5, 7), randn(1, 7, 3)),
             ("W_A [4, 9] * 10, W_B [9, 4] / 3", randn(4, 4, 9) * 10, randn(5, 9, 4) / 3)]
    for what, A, B in cases:
        got = submission.composition_score(A, B)
        if not isinstance(got, (int, float)) and not (isinstance(got, torch.Tensor) and got.numel() == 1):
            fail(f"composition_score({what}) must return one number, got {type(got).__name__}")
        got = float(got)
        expected = reference.composition_score(A, B)
        if math.isclose(got, float((A @ B).norm()), rel_tol=1e-4):
            fail(f"composition_score({what}) returned ||W_A @ W_B||_F = {got:.4g} without dividing by "
                 "||W_A||_F * ||W_B||_F: unnormalised, the score grows with the weights' scale, and no baseline applies")
        if A.shape[0] == B.shape[1] and math.isclose(got, reference.composition_score(B, A), rel_tol=1e-4) \
                and not math.isclose(got, expected, rel_tol=1e-4):
            fail(f"composition_score({what}) returned the score of W_B @ W_A: the Frobenius norm of the wrong product. "
                 "AB and BA share their eigenvalues, but not their norms; the writer's matrix comes first")
        assert_close(got, expected, name=f"composition_score({what})", device=device, rtol=1e-4, atol=1e-6)


def test_composition_scores(submission, reference, circuits, device):
    W_QK, W_OV = circuits
    expected = {kind: reference.composition_scores(W_QK, W_OV, kind, 0, 1) for kind in "qkv"}
    for kind in "qkv":
        got = submission.composition_scores(W_QK, W_OV, kind, 0, 1)
        call = f"composition_scores(W_QK, W_OV, {kind!r}, 0, 1) on the shipped model"
        others = {"q": "Q", "k": "K", "v": "V"}
        for other in "qkv":
            if other != kind and close(got, expected[other]) and not close(got, expected[kind]):
                how = {("v", "k"): "the reader's W_QK^T instead of its W_OV: V-composition is into the values, "
                                   "x @ W_OV(writer) @ W_OV(reader)",
                       ("k", "q"): "the reader's W_QK instead of W_QK^T: the writer's output enters on the key side, "
                                   "x_q @ W_QK @ (x @ W_OV)^T = x_q @ W_QK @ W_OV^T @ x^T",
                       ("q", "k"): "W_QK^T: the writer's output enters on the query side, (x @ W_OV) @ W_QK"}.get(
                    (kind, other), f"the {others[other]}-composition formula")
                fail(f"{call} returned the {others[other]}-composition scores: you used {how}")
        if close(got, expected[kind].T, 1e-4) and not close(got, expected[kind]):
            fail(f"{call} is transposed: rows are the writer (layer 0) heads, columns the reader (layer 1) heads")
        assert_close(got, expected[kind], name=f"{call} ([n_heads, n_heads], rows writer heads)", device=device,
                     rtol=1e-4, atol=1e-6, check_dtype=False)
    for args, why in [(("x", 0, 1), "kind 'x'"), (("k", 1, 0), "writer_layer 1 after reader_layer 0"),
                      (("k", 1, 1), "the same layer")]:
        try:
            got = submission.composition_scores(W_QK, W_OV, *args)
        except LearnerError as exc:
            if "ValueError" not in str(exc):
                fail(f"composition_scores with {why} should raise ValueError, it raised: {str(exc).splitlines()[0]}")
            continue
        fail(f"composition_scores with {why} returned a result; it must raise ValueError (a head composes only "
             "with heads of later layers, through q, k or v)")


def rank_one_baseline(d_model: int) -> float:
    """The exact mean score of two random rank-1 products a b^T, c e^T (Gaussian factors): the mean
    |cosine| of two independent random directions in d_model dimensions."""
    return math.exp(math.lgamma(d_model / 2) - math.lgamma((d_model + 1) / 2)) / math.sqrt(math.pi)


@pytest.mark.parametrize("d_model, d_head, n_samples", [(64, 16, 200), (48, 1, 1000)])
def test_random_baseline(submission, reference, device, d_model, d_head, n_samples):
    """By outcome, whatever the learner's seed and random numbers: rank 16 against 400 reference samples
    (the score concentrates), rank 1 against its exact expectation."""
    if d_head == 1:
        expected, tol = rank_one_baseline(d_model), 0.12
    else:
        expected, tol = reference.random_baseline(d_model, d_head, n_samples=400, seed=12345), 0.08
    got = float(submission.random_baseline(d_model, d_head, n_samples, 7))
    call = f"random_baseline({d_model}, {d_head}, n_samples={n_samples})"
    if abs(got - expected) <= tol * expected:
        return
    square_small = 1 / math.sqrt(d_head) if d_head > 1 else None
    full_rank = reference.composition_score(randn(0, d_model, d_model), randn(1, d_model, d_model))
    if square_small and abs(got - square_small) < 0.1 * square_small:
        fail(f"{call} = {got:.4f}, about 1/sqrt(d_head) = {square_small:.4f}: the baseline is not from the same shapes. "
             f"A head's W_OV and W_QK are [d_model, d_model] = [{d_model}, {d_model}] (of rank d_head); random "
             f"[d_head, d_head] matrices give {square_small / expected:.2f}x the baseline of {expected:.4f}")
    if d_head == 1 and abs(got - full_rank) < 0.1 * full_rank:
        fail(f"{call} = {got:.4f}, what full-rank [{d_model}, {d_model}] random matrices give (~{full_rank:.3f}); a head's "
             f"W_OV is a product [d_model, d_head] @ [d_head, d_model] of rank d_head = 1, whose baseline is "
             f"{expected:.4f}. Build each random matrix as such a product")
    fail(f"{call} = {got:.4f}; random pairs of products [d_model, d_head] @ [d_head, d_model] score {expected:.4f} "
         "on average")


def test_composition_pairs(submission, reference, device):
    scores = torch.tensor([[0.30, 0.10, 0.21], [0.05, 0.40, 0.19], [0.20, 0.20, 0.00]])
    for baseline, ratio in [(0.1, 2.05), (0.125, 1.5), (0.5, 0.9)]:  # no score sits on a threshold
        got = submission.composition_pairs(scores, baseline, ratio)
        expected = reference.composition_pairs(scores, baseline, ratio)
        got = [list(map(int, p)) for p in got] if isinstance(got, (list, tuple)) else got
        if got != expected:
            fail(f"composition_pairs(scores [3, 3], baseline={baseline}, ratio={ratio}) returned {got}, expected "
                 f"{expected}: every [writer, reader] whose score is above ratio * baseline, in row-major order")


def test_k_composition_singles_out_the_induction_circuit(submission, record_figure, trusted, device, shipped_model):
    """With the learner's own functions on the shipped model: the K-composition pairs above 1.5x the random
    baseline are exactly previous-token head -> induction head; no Q- or V-composition pair comes close to
    the weakest of them."""
    model = shipped_model("induction", device)
    W_QK, W_OV = submission.qk_ov_matrices(model)
    cfg = trusted.cfg
    baseline = float(submission.random_baseline(cfg.d_model, cfg.d_head, 200, 0))
    scores = {kind: submission.composition_scores(W_QK, W_OV, kind, 0, 1) for kind in "qkv"}
    for kind, s in scores.items():
        record_figure(f"{kind}_composition", s)
    record_figure("baseline", [baseline])
    expected = sorted([p[1], i[1]] for p in previous_token_heads() for i in induction_heads() if p[0] == 0 and i[0] == 1)
    got = sorted(list(map(int, p)) for p in submission.composition_pairs(scores["k"], baseline, 1.5))
    if got != expected:
        fail(f"on the shipped model your K-composition pairs above 1.5x your baseline ({baseline:.4f}) are "
             f"{['0.%d -> 1.%d' % tuple(p) for p in got]}; the previous-token heads "
             f"{['%d.%d' % h for h in previous_token_heads()]} feeding the induction heads "
             f"{['%d.%d' % h for h in induction_heads()]} give {['0.%d -> 1.%d' % tuple(p) for p in expected]}")
    weakest = min(float(scores["k"][i, j]) for i, j in expected)
    for kind in "qv":
        strongest = float(scores[kind].max())
        if strongest >= weakest:
            fail(f"your {kind.upper()}-composition reaches {strongest:.3f}, above the weakest induction K-composition "
                 f"({weakest:.3f}): on this model the previous-token heads feed the induction heads' keys, not their "
                 f"{'queries' if kind == 'q' else 'values'}")
