"""Grader for linear-algebra. Unique answers (coordinates, projections, the best low-rank
approximation, the Eckart-Young error) are compared with the reference; answers that are not
unique (eigenvectors: order and signs) are graded by their defining properties. Gram-Schmidt is
graded by properties that pin it down: orthonormal columns, the same nested spans, positive
diagonal. Inputs are seeded, mostly float64, with size-1, non-square and transposed cases."""

import torch

from mi_exercise.grading import assert_close, fail, forbid_calls

F64 = torch.float64


def randn(seed: int, *shape: int, dtype=F64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def orthonormal(seed: int, d: int, dtype=F64) -> torch.Tensor:
    return torch.linalg.qr(randn(seed, d, d, dtype=torch.float64))[0].to(dtype)


def general_basis(seed: int, d: int, dtype=F64) -> torch.Tensor:
    """An invertible, reasonably conditioned, clearly non-orthonormal basis."""
    return (randn(seed, d, d) + 2 * torch.eye(d, dtype=torch.float64) * torch.linspace(1, 3, d, dtype=torch.float64)).to(dtype)


def tol(dtype, device):
    if dtype == torch.float32:
        return {"rtol": 1e-3, "atol": 1e-4}
    return {"rtol": 1e-6, "atol": 1e-8}


def test_change_of_basis(submission, reference, device):
    cases = [("basis [1, 1]", randn(0, 3, 1), torch.tensor([[2.0]], dtype=F64)),
             ("an orthonormal basis [4, 4]", randn(1, 5, 4), orthonormal(2, 4)),
             ("a general basis [3, 3]", randn(3, 1, 3), general_basis(4, 3)),
             ("a general basis [5, 5]", randn(5, 6, 5), general_basis(6, 5)),
             ("a general basis [4, 4] (transposed view), v [3, 4] (transposed view)", randn(7, 4, 3).t(), general_basis(8, 4).t()),
             ("a general float32 basis [3, 3]", randn(9, 4, 3, dtype=torch.float32), general_basis(10, 3, torch.float32))]
    for label, v, basis in cases:
        got = submission.change_of_basis(v, basis)
        name = f"change_of_basis(v {list(v.shape)}, {label})"
        if isinstance(got, torch.Tensor) and got.shape == v.shape and got.dtype == v.dtype:
            rebuilt = got @ basis.T
            if not torch.allclose(rebuilt, v, **tol(v.dtype, device)):
                fail(f"{name}: the coordinates c do not rebuild v: basis @ c[i] should equal v[i], but it is off by "
                     f"{(rebuilt - v).abs().max().item():.3g}. Multiplying by the basis (or its transpose) only "
                     "inverts it when the basis is orthonormal: solve basis @ c = v.")
        assert_close(got, reference.change_of_basis(v, basis), name=name, device=device, **tol(v.dtype, device))


def test_coordinate_norms(submission, reference, device):
    for i, d in enumerate([1, 3, 6]):
        v, q = randn(20 + i, 4, d), orthonormal(30 + i, d)
        got = submission.coordinate_norms(v, q)
        name = f"coordinate_norms(v [4, {d}], an orthonormal basis [{d}, {d}])"
        assert_close(got, v.norm(dim=-1), name=name + " (an orthonormal change of basis keeps every length)",
                     device=device, **tol(F64, device))
    for i, d in enumerate([2, 3, 5]):
        v, b = randn(40 + i, 4, d), general_basis(50 + i, d)
        expected = reference.coordinate_norms(v, b)
        assert torch.all((expected - v.norm(dim=-1)).abs() > 1e-3), "grader self-check: general basis changes norms"
        assert_close(submission.coordinate_norms(v, b), expected,
                     name=f"coordinate_norms(v [4, {d}], a general basis [{d}, {d}]) (lengths change here)",
                     device=device, **tol(F64, device))


def test_is_orthonormal(submission, reference, device):
    q = orthonormal(60, 5)
    cases = [("an orthonormal basis [5, 5]", q, True),
             ("3 orthonormal columns [5, 3]", q[:, :3], True),
             ("an orthonormal basis with columns reordered and one sign flipped", q[:, [2, 0, 1, 4, 3]] * torch.tensor([1, -1, 1, 1, 1], dtype=F64), True),
             ("an orthonormal basis plus noise of 1e-9", q + 1e-9 * randn(61, 5, 5), True),
             ("2 * (an orthonormal basis): orthogonal columns of length 2", 2 * q, False),
             ("orthogonal columns of lengths 1, 1, 1, 1, 1.01", q * torch.tensor([1, 1, 1, 1, 1.01], dtype=F64), False),
             ("a general basis [4, 4]", general_basis(62, 4), False),
             ("unit columns that are not orthogonal", torch.tensor([[1.0, 0.6], [0.0, 0.8]], dtype=F64), False),
             ("the identity [1, 1]", torch.eye(1, dtype=F64), True)]
    cases = [(label, b, expected, None) for label, b, expected in cases]

    def stretch(sq_len: float):  # the last column's squared length becomes sq_len; the rest stay
        return q * torch.tensor([1, 1, 1, 1, sq_len ** 0.5], dtype=F64)
    # at the boundary: the rule is absolute, |b.T @ b - I| <= atol entry by entry, with no relative
    # part (torch.allclose adds rtol * |I| = 1e-5 on the diagonal, and would say True here)
    cases += [("a column of squared length 1 + 5e-6, atol=1e-6 (default)", stretch(1 + 5e-6), False, None),
              ("a column of squared length 1 + 5e-7, atol=1e-6 (default)", stretch(1 + 5e-7), True, None),
              ("a column of squared length 1 + 2e-3, atol=1e-3", stretch(1 + 2e-3), False, 1e-3),
              ("a column of squared length 1 + 5e-4, atol=1e-3", stretch(1 + 5e-4), True, 1e-3),
              ("an orthonormal basis, atol=0.5: 2 * basis is still far off", 2 * q, False, 0.5)]
    for label, b, expected, atol in cases:
        args = (b,) if atol is None else (b, atol)
        assert reference.is_orthonormal(*args) is expected, f"grader self-check: {label}"
        got = submission.is_orthonormal(*args)
        boundary = "squared length 1 +" in label
        if got is not expected:
            fail(f"is_orthonormal({label}) should be {expected}, got {got!r}"
                 + (" (the tolerance is absolute: |b.T @ b - I| <= atol entry by entry; torch.allclose "
                    "adds a relative tolerance, rtol * |I|, on top)" if boundary else "")
                 + (" (return a Python bool: bool(...) or .item())" if not isinstance(got, bool) else "")
                 + (" (orthonormal needs unit length too: check the diagonal of b.T @ b)"
                    if expected is False and got is True and not boundary else ""))


def test_project_onto_subspace(submission, reference, device):
    cases = [(3, 1), (4, 2), (6, 3), (5, 5)]
    for i, (d, k) in enumerate(cases):
        v, a = randn(70 + i, 4, d), randn(80 + i, d, k) + 0.5  # columns far from orthonormal
        got = submission.project_onto_subspace(v, a)
        assert_close(got, reference.project_onto_subspace(v, a),
                     name=f"project_onto_subspace(v [4, {d}], a [{d}, {k}] with non-orthonormal columns)",
                     device=device, **tol(F64, device))
    v, a = randn(89, 5, 1).t(), torch.tensor([[1.0], [1.0], [0.0], [0.0], [0.0]], dtype=F64)
    assert_close(submission.project_onto_subspace(v, a), reference.project_onto_subspace(v, a),
                 name="project_onto_subspace(v [1, 5] (a view), a = the column [1, 1, 0, 0, 0] (not unit length))",
                 device=device, **tol(F64, device))
    v, a = randn(90, 3, 4, dtype=torch.float32), randn(91, 4, 2, dtype=torch.float32)
    assert_close(submission.project_onto_subspace(v, a), reference.project_onto_subspace(v, a),
                 name="project_onto_subspace(v [3, 4] float32, a [4, 2] float32)", device=device, **tol(torch.float32, device))


def test_gram_schmidt(submission, reference, device):
    cases = [("a [1, 1]", torch.tensor([[-3.0]], dtype=F64)), ("a [3, 3]", randn(100, 3, 3)),
             ("a [5, 2]", randn(101, 5, 2)), ("a [6, 4]", randn(102, 6, 4) + 1.0),
             ("a [4, 4] (a transposed view)", randn(103, 4, 4).t()),
             ("a [3, 3] float32", randn(104, 3, 3, dtype=torch.float32))]
    for label, a in cases:
        name = f"gram_schmidt({label})"
        q = submission.gram_schmidt(a)
        if not isinstance(q, torch.Tensor) or q.shape != a.shape or q.dtype != a.dtype:
            assert_close(q, reference.gram_schmidt(a), name=name, device=device)
        t = tol(a.dtype, device)
        atol = 1e-8 if a.dtype == F64 else 1e-4
        k = a.shape[1]
        gram = q.T @ q
        if not torch.allclose(gram, torch.eye(k, dtype=a.dtype), rtol=0, atol=atol * 100):
            i, j = divmod(int((gram - torch.eye(k, dtype=a.dtype)).abs().argmax()), k)
            what = "a column's squared length" if i == j else f"the dot product of columns {i} and {j}"
            fail(f"{name}: the columns are not orthonormal: {what} is {gram[i, j].item():.6g} "
                 f"(should be {1 if i == j else 0}). Subtract the projections onto the q's you already have, then normalise.")
        r = q.T @ a
        below = r.tril(-1)
        if below.abs().max() > atol * 100:
            i, j = divmod(int(below.abs().argmax()), k)
            fail(f"{name}: q[:, {i}] has a component along a[:, {j}] ({r[i, j].item():.6g}) although it comes later: "
                 "q[:, :j] must span the same space as a[:, :j] (process the columns in order)")
        if (r.diagonal() <= 0).any():
            j = int((r.diagonal() <= 0).nonzero()[0])
            fail(f"{name}: q[:, {j}] . a[:, {j}] = {r[j, j].item():.6g}, but it should be positive (a sign flip?)")
        assert_close(q @ r.triu(), a, name=f"{name}: q @ (q.T @ a) should rebuild a", device=device, **t)


def test_gram_schmidt_does_not_use_qr(learner_source):
    # read from the source on the trusted side: the page's rule, checked, not taken on trust
    forbid_calls(learner_source, ["torch.linalg.qr", "torch.qr", "torch.Tensor.qr", "torch.geqrf",
                                  "torch.linalg.householder_product", "torch.orgqr"],
                 methods=["qr", "geqrf"], within=["gram_schmidt"],
                 rule="gram_schmidt must orthonormalise the columns itself: the exercise forbids torch.linalg.qr "
                      "(and the other QR routines) in gram_schmidt and the helpers it calls")


def test_low_rank_approx(submission, reference, device):
    cases = [((1, 1), 1), ((4, 4), 1), ((5, 3), 2), ((3, 6), 2), ((6, 5), 5), ((4, 3), 0)]
    for i, (shape, r) in enumerate(cases):
        m = randn(110 + i, *shape)
        got = submission.low_rank_approx(m, r)
        assert_close(got, reference.low_rank_approx(m, r), name=f"low_rank_approx(m {list(shape)}, r={r})",
                     device=device, **tol(F64, device))
    m = randn(119, 7, 4).t()
    assert_close(submission.low_rank_approx(m, 2), reference.low_rank_approx(m, 2),
                 name="low_rank_approx(m [4, 7] (a transposed view), r=2)", device=device, **tol(F64, device))
    # A matrix of exact rank 2: its rank-2 approximation is itself.
    m = randn(120, 5, 2) @ randn(121, 2, 6)
    assert_close(submission.low_rank_approx(m, 2), m, name="low_rank_approx(m [5, 6] of rank 2, r=2) (should return m)",
                 device=device, **tol(F64, device))


def test_eckart_young_error(submission, reference, device):
    cases = [((1, 1), 0), ((4, 4), 1), ((5, 3), 2), ((3, 6), 1), ((6, 5), 5), ((4, 3), 0)]
    for i, (shape, r) in enumerate(cases):
        m = randn(130 + i, *shape)
        expected = reference.eckart_young_error(m, r)
        direct = torch.linalg.matrix_norm(m - reference.low_rank_approx(m, r))
        assert torch.allclose(expected, direct), "grader self-check: Eckart-Young"
        assert_close(submission.eckart_young_error(m, r), expected,
                     name=f"eckart_young_error(m {list(shape)}, r={r}) (the Frobenius norm of m - m_r)",
                     device=device, **tol(F64, device))


def test_symmetric_eigen(submission, reference, device):
    diag = torch.diag(torch.tensor([3.0, -2.0, 0.5], dtype=F64))
    cases = [("s [1, 1] = [[-4]]", torch.tensor([[-4.0]], dtype=F64)),
             ("s = diag(3, -2, 0.5)", diag)]
    for i, d in enumerate([2, 4, 6]):
        x = randn(140 + i, d, d)
        cases.append((f"a random symmetric s [{d}, {d}] (eigenvalues of both signs)", x + x.T))
    x = randn(150, 5, 3)
    cases.append(("a positive semi-definite s [5, 5] of rank 3", x @ x.T))
    for label, s in cases:
        name = f"symmetric_eigen({label})"
        got = submission.symmetric_eigen(s)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(f"{name}: return a pair (eigenvalues [d], eigenvectors [d, d]), got {type(got).__name__}")
        values, vectors = got
        d = s.shape[0]
        ref_values, _ = reference.symmetric_eigen(s)
        if not isinstance(values, torch.Tensor) or values.shape != (d,):
            assert_close(values, ref_values, name=f"{name} eigenvalues", device=device)
        if not isinstance(vectors, torch.Tensor) or vectors.shape != (d, d) or vectors.is_complex():
            fail(f"{name}: eigenvectors should be a real tensor [{d}, {d}], got "
                 f"{getattr(vectors, 'dtype', type(vectors).__name__)} {list(getattr(vectors, 'shape', []))}")
        assert_close(values.sort().values, ref_values.sort().values,
                     name=f"{name} eigenvalues (compared in sorted order)", device=device, **tol(F64, device))
        if not torch.allclose(vectors.T @ vectors, torch.eye(d, dtype=F64), atol=1e-8):
            fail(f"{name}: the eigenvector columns are not orthonormal (eigenvectors.T @ eigenvectors should be I)")
        residual = s @ vectors - vectors * values
        if residual.abs().max() > 1e-8 * (1 + s.abs().max()):
            j = int(residual.abs().max(dim=0).values.argmax())
            fail(f"{name}: column {j} of eigenvectors is not an eigenvector for eigenvalues[{j}] = {values[j].item():.6g}: "
                 f"s @ v - lambda * v is off by {residual[:, j].abs().max().item():.3g}. Eigenvectors are the COLUMNS, "
                 "each paired with the eigenvalue at the same index.")
