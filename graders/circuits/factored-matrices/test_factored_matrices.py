"""Grader for factored-matrices. Every operation of the learner's Factored is checked against
TransformerLens's own FactoredMatrix (and against the full matrix where that is small), on plain,
batched and broadcast factors; named diagnoses catch the classic mistakes (eigenvalues of AB
instead of BA, singular values taken for eigenvalues, V returned transposed, `.T` on a batched
factor, multiplying on the wrong side). The last test hands over a rank-6 matrix of size
300000 x 300000: its full form would take 360 GB, so only code that works through the factors
passes it."""

import torch
from transformer_lens import FactoredMatrix

from mi_exercise.grading import assert_close, fail
from mi_exercise.runner.outcomes import LearnerError, SubmissionOutOfMemory

HUGE = 300_000  # ldim = rdim of the matrix that must never be formed (300000^2 float32 = 360 GB)


def randn(seed: int, *shape: int, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def cases():
    """(label, A, B): square and not, batched, broadcast (one factor shared across the batch)."""
    yield "A [5, 3], B [3, 5]", randn(0, 5, 3), randn(1, 3, 5)
    yield "A [7, 2], B [2, 4]", randn(2, 7, 2), randn(3, 2, 4)
    yield "A [3, 6, 4], B [3, 4, 6] (3 heads)", randn(4, 3, 6, 4), randn(5, 3, 4, 6)
    yield "A [8, 3], B [2, 3, 8] (A shared by 2)", randn(6, 8, 3), randn(7, 2, 3, 8)


def square_cases():
    return [c for c in cases() if c[1].shape[-2] == c[2].shape[-1]]


def build(submission, A, B, label):
    try:
        return submission.Factored(A, B)
    except LearnerError as exc:
        fail(f"Factored({label}) raised: {exc.message.splitlines()[0]}")


def get(fm, name, call):
    try:
        return fm.get(name)
    except SubmissionOutOfMemory:
        fail(f"{call} ran out of memory: it must work through the factors, never forming A @ B")


def product(fm, call):
    """The full matrix of a learner's Factored (only on small cases), via its AB."""
    ab = get(fm, "AB", f"{call}.AB")
    if not isinstance(ab, torch.Tensor):
        fail(f"{call} should be a Factored (with .AB a tensor); got {type(ab).__name__}")
    return ab


def test_shape(submission, device):
    for label, A, B in cases():
        fm = build(submission, A, B, label)
        shape = get(fm, "shape", f"Factored({label}).shape")
        expected = tuple(FactoredMatrix(A, B).shape)
        if not isinstance(shape, (tuple, list)) or tuple(shape) != expected:
            fail(f"Factored({label}).shape is {shape!r}, expected {expected} (the leading dims, then ldim, rdim: "
                 "the shape A @ B would have)")


def test_rejects_mismatched_factors(submission, device):
    try:
        got = submission.Factored(randn(0, 5, 3), randn(1, 4, 5))
    except LearnerError as exc:
        if "ValueError" not in exc.message:
            fail(f"Factored(A [5, 3], B [4, 5]) should raise ValueError (inner sizes 3 and 4 differ); it raised "
                 f"{exc.message.splitlines()[0]}")
        return
    fail(f"Factored(A [5, 3], B [4, 5]) returned {got!r}; A's last size must equal B's second-to-last, so raise ValueError")


def test_AB_and_BA(submission, device):
    for label, A, B in cases():
        fm = build(submission, A, B, label)
        assert_close(product(fm, f"Factored({label})"), FactoredMatrix(A, B).AB, name=f"Factored({label}).AB", device=device)
    for label, A, B in square_cases():
        fm = build(submission, A, B, label)
        ba = get(fm, "BA", f"Factored({label}).BA")
        if isinstance(ba, torch.Tensor) and ba.shape == A.shape[:-2] + (A.shape[-2], B.shape[-1]) != (B @ A).shape:
            fail(f"Factored({label}).BA has shape {list(ba.shape)}, the shape of A @ B; BA is B @ A [..., mdim, mdim]")
        assert_close(ba, FactoredMatrix(A, B).BA, name=f"Factored({label}).BA", device=device)
    fm = build(submission, randn(8, 7, 2), randn(9, 2, 4), "A [7, 2], B [2, 4]")
    try:
        got = fm.get("BA")
    except LearnerError as exc:
        if "ValueError" not in exc.message:
            fail(f"Factored(A [7, 2], B [2, 4]).BA should raise ValueError (BA is only defined for a square A @ B); "
                 f"it raised {exc.message.splitlines()[0]}")
        return
    fail(f"Factored(A [7, 2], B [2, 4]).BA returned {got!r}: B @ A exists, but it stands for a square A @ B only "
         "(its eigenvalues are AB's); raise ValueError when ldim != rdim")


def test_transpose(submission, device):
    for label, A, B in cases():
        fm = build(submission, A, B, label)
        try:
            t = fm.get("T")
        except LearnerError as exc:
            if A.ndim > 2 or B.ndim > 2:
                fail(f"Factored({label}).T failed on batched factors: `.T` on a tensor with more than 2 axes reverses "
                     "every axis (the batch axis too); swap only the last two: .transpose(-2, -1) or .mT. "
                     f"(It raised {exc.message.splitlines()[0]})")
            raise
        got = product(t, f"Factored({label}).T")
        assert_close(got, FactoredMatrix(A, B).T.AB, name=f"Factored({label}).T.AB", device=device)
        inner = get(t, "A", f"Factored({label}).T.A")
        if isinstance(inner, torch.Tensor) and inner.shape[-1] != A.shape[-1]:
            fail(f"Factored({label}).T.A has shape {list(inner.shape)}: the transpose of A @ B is Bᵀ @ Aᵀ, factors "
                 f"with the same inner size mdim = {A.shape[-1]}")


def test_matmul(submission, device):
    for label, A, B in cases():
        fm = build(submission, A, B, label)
        expected = FactoredMatrix(A, B)
        x = randn(20, B.shape[-1], 3)
        y = randn(21, 2, A.shape[-2])
        other_A, other_B = randn(22, B.shape[-1], 2), randn(23, 2, 5)
        other = build(submission, other_A, other_B, "A' [rdim, 2], B' [2, 5]")
        right = fm.matmul(x)
        assert_close(product(right, f"Factored({label}).matmul(x [rdim, 3])"), (expected @ x).AB,
                     name=f"Factored({label}).matmul(x [rdim, 3]).AB", device=device)
        left = fm.rmatmul(y)
        got = product(left, f"Factored({label}).rmatmul(y [2, ldim])")
        if got.shape[-2:] != (2, expected.shape[-1]):
            fail(f"Factored({label}).rmatmul(y [2, ldim]) has shape {list(got.shape)}: rmatmul(y) is y @ (A @ B) "
                 f"[..., 2, rdim], the product with y on the left")
        assert_close(got, (y @ expected).AB, name=f"Factored({label}).rmatmul(y [2, ldim]).AB", device=device)
        both = fm.matmul(other)
        assert_close(product(both, f"Factored({label}).matmul(Factored)"), (expected @ FactoredMatrix(other_A, other_B)).AB,
                     name=f"Factored({label}).matmul(another Factored [rdim, 5]).AB", device=device)


def test_svd(submission, device):
    for label, A, B in cases():
        fm = build(submission, A, B, label)
        got = fm.svd()
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            fail(f"Factored({label}).svd() must return (U, S, V), got {got!r}")
        U, S, V = got
        eU, eS, eV = FactoredMatrix(A, B).svd()
        if isinstance(V, torch.Tensor) and V.shape != eV.shape and V.shape == eV.mT.shape:
            fail(f"Factored({label}).svd() returned V with shape {list(V.shape)}, the shape of Vᵀ: return V "
                 f"[..., rdim, mdim] (TransformerLens's convention: A @ B == U @ diag(S) @ V.T)")
        assert_close(S, eS, name=f"Factored({label}).svd() S (singular values, largest first)", device=device,
                     rtol=1e-6, atol=1e-8)
        for name, got_m, want in (("U", U, eU), ("V", V, eV)):
            if not isinstance(got_m, torch.Tensor) or got_m.shape != want.shape:
                fail(f"Factored({label}).svd() {name} has shape {list(getattr(got_m, 'shape', []))}, expected {list(want.shape)}")
            eye = torch.eye(want.shape[-1], dtype=want.dtype).expand(want.shape[:-2] + (want.shape[-1],) * 2)
            assert_close(got_m.mT @ got_m, eye, name=f"Factored({label}).svd() {name}ᵀ {name} (its columns orthonormal)",
                         device=device, rtol=1e-6, atol=1e-8)
        rebuilt = U @ torch.diag_embed(S) @ V.mT
        if not torch.allclose(rebuilt, A @ B, rtol=1e-6, atol=1e-8) and torch.allclose(U @ torch.diag_embed(S) @ V, A @ B,
                                                                                      rtol=1e-6, atol=1e-8):
            fail(f"Factored({label}).svd() returned Vᵀ where V belongs: U @ diag(S) @ V.T must rebuild A @ B")
        assert_close(rebuilt, A @ B, name=f"U @ diag(S) @ V.T from Factored({label}).svd() (must rebuild A @ B)",
                     device=device, rtol=1e-6, atol=1e-8)


def match_eigenvalues(got: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
    """got reordered to pair each expected eigenvalue with the nearest unused one of got (the order
    eig returns them in is not defined)."""
    got, out = got.clone().reshape(-1, got.shape[-1]), []
    for g, e in zip(got, expected.reshape(-1, expected.shape[-1])):
        free, row = list(range(len(g))), []
        for value in e:
            j = min(free, key=lambda i: abs(complex(g[i]) - complex(value)))
            free.remove(j)
            row.append(g[j])
        out.append(torch.stack(row))
    return torch.stack(out).reshape(expected.shape)


def test_eigenvalues(submission, device):
    for label, A, B in square_cases():
        fm = build(submission, A, B, label)
        got = get(fm, "eigenvalues", f"Factored({label}).eigenvalues")
        expected = FactoredMatrix(A, B).eigenvalues
        call = f"Factored({label}).eigenvalues"
        if not isinstance(got, torch.Tensor):
            fail(f"{call} must be a tensor, got {type(got).__name__}")
        if got.shape[-1] == A.shape[-2] != A.shape[-1]:
            fail(f"{call} has {got.shape[-1]} values per matrix, one per row of A @ B: those are the eigenvalues of AB, "
                 f"most of them 0. Its nonzero eigenvalues are those of BA [mdim x mdim], so take eigenvalues of BA "
                 f"({A.shape[-1]} values)")
        if got.shape != expected.shape:
            fail(f"{call} has shape {list(got.shape)}, expected {list(expected.shape)} (the eigenvalues of BA)")
        if not got.is_complex():
            S = FactoredMatrix(A, B).S
            if torch.allclose(got.sort(-1).values, S.to(got.dtype).sort(-1).values, rtol=1e-5, atol=1e-8):
                fail(f"{call} returned the singular values: they are not the eigenvalues (those can be negative or "
                     "complex); take torch.linalg.eigvals of BA")
            fail(f"{call} is real ({got.dtype}), but BA is not symmetric, so its eigenvalues are complex in general: "
                 "use torch.linalg.eigvals (eigvalsh assumes a symmetric matrix), and keep the complex result")
        if got.dtype != expected.dtype:
            fail(f"{call} has dtype {got.dtype}, expected {expected.dtype} (what eigvals gives for {A.dtype} factors)")
        assert_close(match_eigenvalues(got, expected), expected, name=f"{call} (as a set)", device=device,
                     rtol=1e-6, atol=1e-8)


def test_norm(submission, device):
    for label, A, B in cases():
        fm = build(submission, A, B, label)
        got = fm.norm()
        expected = FactoredMatrix(A, B).norm()
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and not torch.allclose(got, expected, rtol=1e-6):
            S = FactoredMatrix(A, B).S
            for wrong, what in ((S.sum(-1), "the sum of the singular values (the nuclear norm)"),
                                (S.max(-1).values, "the largest singular value (the spectral norm)"),
                                (torch.linalg.matrix_norm(A) * torch.linalg.matrix_norm(B), "‖A‖ ‖B‖")):
                if torch.allclose(got, wrong, rtol=1e-6):
                    fail(f"Factored({label}).norm() returned {what}; the Frobenius norm is sqrt(Σ S²), "
                         "the square root of the sum of the squared singular values")
        assert_close(got, expected, name=f"Factored({label}).norm() (Frobenius)", device=device, rtol=1e-6)
        assert_close(got, torch.linalg.matrix_norm(A @ B), name=f"Factored({label}).norm() vs ‖A @ B‖_F", device=device,
                     rtol=1e-6)


def test_never_forms_the_full_matrix(submission, device):
    """A rank-6 matrix of size 300000 x 300000 (float32: 360 GB if formed): every operation must work
    through its factors, and give what TransformerLens's FactoredMatrix gives."""
    A, B = randn(30, HUGE, 6, dtype=torch.float32) / 30, randn(31, 6, HUGE, dtype=torch.float32) / 30
    expected = FactoredMatrix(A, B)
    label = f"Factored(A [{HUGE}, 6], B [6, {HUGE}])"
    fm = build(submission, A, B, "A [300000, 6], B [6, 300000]")
    probe = randn(32, HUGE, 2, dtype=torch.float32)

    def run(what, fn):
        try:
            return fn()
        except SubmissionOutOfMemory:
            fail(f"{label}.{what} ran out of memory: it formed the full {HUGE} x {HUGE} matrix (360 GB). "
                 "Work through the factors: A @ B is never needed")

    shape = run("shape", lambda: fm.get("shape"))
    if not isinstance(shape, (tuple, list)) or tuple(shape) != (HUGE, HUGE):
        fail(f"{label}.shape is {shape!r}, expected ({HUGE}, {HUGE})")
    t = run("T", lambda: fm.get("T"))
    t_inner = run("T.A", lambda: t.get("A"))
    assert_close(t_inner, B.T, name=f"{label}.T.A", device=device)
    # (A @ B) @ probe, through the learner's factors: A @ (B @ probe)
    right = run("matmul(x [300000, 3])", lambda: fm.matmul(probe))
    rA, rB = run("matmul(x).A", lambda: right.get("A")), run("matmul(x).B", lambda: right.get("B"))
    assert_close(rA @ rB, A @ (B @ probe), name=f"{label}.matmul(x [{HUGE}, 2]).AB", device=device, rtol=1e-4, atol=1e-5)
    left = run("rmatmul(y [2, 300000])", lambda: fm.rmatmul(probe.T))
    lA, lB = run("rmatmul(y).A", lambda: left.get("A")), run("rmatmul(y).B", lambda: left.get("B"))
    assert_close((lA @ lB) @ probe, ((probe.T @ A) @ B) @ probe, name=f"{label}.rmatmul(y [2, {HUGE}]).AB @ x",
                 device=device, rtol=1e-4, atol=1e-5)
    U, S, V = run("svd()", lambda: fm.svd())
    assert_close(S, expected.S, name=f"{label}.svd() S", device=device, rtol=1e-3, atol=1e-5)
    assert_close((U * S[None, :]) @ (V.T @ probe), A @ (B @ probe), name=f"{label}.svd(): U @ diag(S) @ V.T @ x",
                 device=device, rtol=1e-3, atol=1e-4)
    eig = run("eigenvalues", lambda: fm.get("eigenvalues"))
    if not isinstance(eig, torch.Tensor) or eig.shape != (6,):
        fail(f"{label}.eigenvalues should be the 6 eigenvalues of BA [6 x 6], got "
             f"{list(eig.shape) if isinstance(eig, torch.Tensor) else repr(eig)}")
    assert_close(match_eigenvalues(eig.to(expected.eigenvalues.dtype), expected.eigenvalues), expected.eigenvalues,
                 name=f"{label}.eigenvalues", device=device, rtol=1e-3, atol=1e-5)
    assert_close(run("norm()", lambda: fm.norm()), expected.norm(), name=f"{label}.norm()", device=device, rtol=1e-4)
