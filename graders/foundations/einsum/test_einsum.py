"""Grader for einsum. Each test grades one function's values on seeded inputs of several shapes
(size-1 and batch-1 cases, non-square matrices, float64, non-contiguous views). Square cases are
always included, because a transposed pattern only shows up as wrong values when the shapes agree."""

import torch

from mi_exercise.grading import GradingFailure, assert_close, fail


def randn(seed: int, *shape: int, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def tol(device: str) -> dict:
    # Float32 sums in another order (matmul vs einsum) differ by ~1e-6; CUDA keeps its TF32 defaults.
    return {"rtol": 1e-4, "atol": 1e-4} if device == "cpu" else {}


def close_or_explain(actual, expected, name, device, mistaken, explanation):
    """assert_close, but when the answer matches `mistaken` (what a typical wrong pattern gives),
    say which mistake it is."""
    try:
        assert_close(actual, expected, name=name, device=device, **tol(device))
    except GradingFailure as err:
        if (isinstance(actual, torch.Tensor) and actual.shape == mistaken.shape
                and torch.allclose(actual.to(mistaken.dtype), mistaken, rtol=1e-4, atol=1e-4)):
            fail(f"{name}: your result equals {explanation}. Check the letters of your pattern against the docstring.")
        raise err


def test_trace(submission, reference, device):
    cases = [("a [1, 1]", randn(0, 1, 1)), ("a [4, 4]", randn(1, 4, 4)), ("a [7, 7]", randn(2, 7, 7)),
             ("a [5, 5] (a transposed view)", randn(3, 5, 5).t()),
             ("a [3, 3] float64", randn(4, 3, 3, dtype=torch.float64)),
             ("a = [[1, 100], [100, 2]]", torch.tensor([[1.0, 100.0], [100.0, 2.0]]))]
    for label, a in cases:
        assert_close(submission.trace(a), reference.trace(a), name=f"trace({label}) (a 0-dimensional tensor)",
                     device=device, **tol(device))


def test_mat_vec(submission, reference, device):
    cases = [(1, 1), (3, 3), (3, 5), (6, 2)]
    for i, (m, n) in enumerate(cases):
        a, v = randn(10 + i, m, n), randn(20 + i, n)
        close_or_explain(submission.mat_vec(a, v), reference.mat_vec(a, v), f"mat_vec(a [{m}, {n}], v [{n}])",
                         device, a.t() @ v if m == n else torch.empty(0), "a.T @ v (the sum runs over the wrong index of a)")
    a, v = randn(29, 6, 4).t(), randn(30, 12)[::2]
    assert_close(submission.mat_vec(a, v), reference.mat_vec(a, v),
                 name="mat_vec(a [4, 6] (a transposed view), v [6] (a strided view))", device=device, **tol(device))


def test_mat_mul(submission, reference, device):
    cases = [(1, 1, 1), (4, 4, 4), (2, 3, 4), (5, 1, 3), (3, 7, 3)]
    for i, (m, n, p) in enumerate(cases):
        a, b = randn(40 + i, m, n), randn(50 + i, n, p)
        close_or_explain(submission.mat_mul(a, b), reference.mat_mul(a, b), f"mat_mul(a [{m}, {n}], b [{n}, {p}])",
                         device, (a @ b).t(), "(a @ b).T, the transpose")
    a, b = randn(59, 5, 3, dtype=torch.float64).t(), randn(60, 5, 10, dtype=torch.float64)[:, ::2]
    assert_close(submission.mat_mul(a, b), reference.mat_mul(a, b),
                 name="mat_mul(a [3, 5] float64 (transposed view), b [5, 5] float64 (strided view))", device=device)


def test_inner(submission, reference, device):
    for i, n in enumerate([1, 3, 16]):
        u, v = randn(70 + i, n), randn(80 + i, n)
        assert_close(submission.inner(u, v), reference.inner(u, v), name=f"inner(u [{n}], v [{n}])",
                     device=device, **tol(device))
    u, v = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([4.0, -5.0, 6.0])
    assert_close(submission.inner(u, v), reference.inner(u, v), name="inner([1, 2, 3], [4, -5, 6]) (= 12)", device=device)


def test_outer(submission, reference, device):
    for i, (m, n) in enumerate([(1, 1), (3, 3), (2, 5), (6, 1)]):
        u, v = randn(90 + i, m), randn(100 + i, n)
        close_or_explain(submission.outer(u, v), reference.outer(u, v), f"outer(u [{m}], v [{n}])",
                         device, torch.outer(v, u), "outer(v, u), the transpose")
    u, v = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([10.0, 20.0, 30.0])
    assert_close(submission.outer(u, v), reference.outer(u, v),
                 name="outer([1, 2, 3], [10, 20, 30]) (row i is u[i] * v)", device=device)


def test_batched_mat_mul(submission, reference, device):
    cases = [(1, 1, 1, 1), (1, 3, 4, 2), (4, 3, 3, 3), (3, 2, 5, 4)]
    for i, (bsz, m, n, p) in enumerate(cases):
        a, b = randn(110 + i, bsz, m, n), randn(120 + i, bsz, n, p)
        assert_close(submission.batched_mat_mul(a, b), reference.batched_mat_mul(a, b),
                     name=f"batched_mat_mul(a [{bsz}, {m}, {n}], b [{bsz}, {n}, {p}])", device=device, **tol(device))
    a, b = randn(129, 4, 2, 3).transpose(0, 1), randn(130, 2, 3, 4, 2)[..., 0]
    assert_close(submission.batched_mat_mul(a, b), reference.batched_mat_mul(a, b),
                 name="batched_mat_mul(a [2, 4, 3] (a transposed view), b [2, 3, 4] (a strided view))",
                 device=device, **tol(device))


def test_batched_inner(submission, reference, device):
    for i, (bsz, n) in enumerate([(1, 1), (1, 5), (4, 4), (6, 3)]):
        u, v = randn(140 + i, bsz, n), randn(150 + i, bsz, n)
        assert_close(submission.batched_inner(u, v), reference.batched_inner(u, v),
                     name=f"batched_inner(u [{bsz}, {n}], v [{bsz}, {n}])", device=device, **tol(device))


def test_bilinear(submission, reference, device):
    for i, (bsz, m, n) in enumerate([(1, 1, 1), (1, 3, 3), (4, 3, 3), (5, 2, 6)]):
        x, w, y = randn(160 + i, bsz, m), randn(170 + i, m, n), randn(180 + i, bsz, n)
        assert_close(submission.bilinear(x, w, y), reference.bilinear(x, w, y),
                     name=f"bilinear(x [{bsz}, {m}], w [{m}, {n}], y [{bsz}, {n}])", device=device, **tol(device))
    x, w, y = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0], [5.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert_close(submission.bilinear(x, w, y), reference.bilinear(x, w, y),
                 name="bilinear(x=[[1, 0]], w=[[0, 1], [5, 0]], y=[[0, 1]]) (= w[0, 1] = 1)", device=device)


def test_attention_scores(submission, reference, device):
    cases = [(1, 1, 1, 1, 1), (1, 4, 4, 2, 3), (2, 5, 5, 3, 4), (2, 3, 6, 2, 8), (3, 7, 2, 4, 2)]
    for i, (b, sq, sk, h, d) in enumerate(cases):
        q, k = randn(190 + i, b, sq, h, d), randn(200 + i, b, sk, h, d)
        expected = reference.attention_scores(q, k)
        close_or_explain(submission.attention_scores(q, k), expected,
                         f"attention_scores(q [{b}, {sq}, {h}, {d}], k [{b}, {sk}, {h}, {d}]) -> [batch, heads, seq_q, seq_k]",
                         device, expected.transpose(-1, -2), "the scores with seq_q and seq_k swapped ([batch, heads, seq_k, seq_q])")
    qkv = randn(209, 2, 5, 3, 4, 6)  # q and k as slices of one fused projection: non-contiguous views
    q, k = qkv[:, :, 0], qkv[:, :, 1]
    assert_close(submission.attention_scores(q, k), reference.attention_scores(q, k),
                 name="attention_scores(q, k [2, 5, 4, 6], non-contiguous slices of one qkv tensor)",
                 device=device, **tol(device))
    # One head sees a key that matches query 0 exactly; the other heads must not see it.
    q, k = torch.zeros(1, 2, 2, 3), torch.zeros(1, 3, 2, 3)
    q[0, 0, 1] = torch.tensor([1.0, 2.0, 3.0])
    k[0, 2, 1] = torch.tensor([1.0, 2.0, 3.0])
    got = submission.attention_scores(q, k)
    if isinstance(got, torch.Tensor) and got.shape == (1, 2, 2, 3) and got[0, 1, 0, 2].item() != 14.0:
        fail("attention_scores: query 0 and key 2 of head 1 are both [1, 2, 3], so scores[0, 1, 0, 2] should be 14; "
             f"got {got[0, 1, 0, 2].item():.4g} (mixed up heads, or seq_q and seq_k?)")
    assert_close(got, reference.attention_scores(q, k), name="attention_scores (one matching query/key pair in head 1)",
                 device=device)


def test_attention_output(submission, reference, device):
    cases = [(1, 1, 1, 1, 1), (1, 4, 4, 2, 3), (2, 5, 5, 3, 4), (2, 3, 6, 2, 8)]
    for i, (b, sq, sk, h, d) in enumerate(cases):
        pattern = torch.softmax(randn(210 + i, b, h, sq, sk), dim=-1)
        v = randn(220 + i, b, sk, h, d)
        mistaken = reference.attention_output(pattern.transpose(-1, -2), v) if sq == sk else torch.empty(0)
        close_or_explain(submission.attention_output(pattern, v), reference.attention_output(pattern, v),
                         f"attention_output(pattern [{b}, {h}, {sq}, {sk}], v [{b}, {sk}, {h}, {d}]) -> [batch, seq_q, heads, d_head]",
                         device, mistaken, "the output for the transposed pattern: sum over the key axis (the last axis of pattern), "
                         "not the query axis")
    pattern = torch.softmax(randn(229, 2, 4, 3, 3), dim=-1).transpose(-1, -2)  # columns sum to 1; a view
    v = randn(230, 2, 3, 4, 5)
    assert_close(submission.attention_output(pattern, v), reference.attention_output(pattern, v),
                 name="attention_output(pattern [2, 4, 3, 3] (a transposed view), v [2, 3, 4, 5])",
                 device=device, **tol(device))
