"""Grader for copying-scores. The copying score is checked on eigenvalues built to expose each
classic slip (|λ| on top, real parts below, a count instead of a mass); the eigenvalues of every
head's full OV circuit must equal the reference's (as a set, per head) on both shipped circuits
models, with diagnoses for AB taken instead of BA and for W_E / W_U left out; copying_heads must
name the heads the reference names. With `--model gpt2`, the same on GPT-2 small's 144 heads
(its full OV circuits are 50257 x 50257: only BA [64 x 64] is ever needed)."""

import pytest
import torch
from transformer_lens import FactoredMatrix

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.circuits_grading import CIRCUITS_MODELS, learner_model, match_eigenvalues, trusted_model
from mi_exercise.models.induction import induction_heads
from mi_exercise.models.induction_grading import (
    GPT2_LABEL,
    as_heads,
    heads_text,
    shipped_gpt2_or_skip,
    trusted_gpt2_or_skip,
)
from mi_exercise.runner.outcomes import SubmissionOutOfMemory

SLUG = "copying-scores"


def eigenvalue_cases():
    yield "all positive [4]", torch.tensor([3.0, 1.0, 0.5, 0.1], dtype=torch.complex64)
    yield "all negative [3]", torch.tensor([-2.0, -1.0, -0.5], dtype=torch.complex64)
    yield "mixed [5]", torch.tensor([4.0, -1.0, 0.5, -0.5, 2.0], dtype=torch.complex64)
    yield "a complex pair and reals [4]", torch.tensor([1 + 3j, 1 - 3j, 2.0, -0.5], dtype=torch.complex64)
    gen = torch.Generator().manual_seed(0)
    values = torch.linalg.eigvals(torch.randn(2, 3, 6, 6, generator=gen, dtype=torch.float64))
    yield "eigenvalues of random [2, 3, 6, 6] matrices: [2, 3, 6]", values


def test_copying_score(submission, reference, device):
    for label, values in eigenvalue_cases():
        call = f"copying_score({label})"
        got = submission.copying_score(values)
        expected = reference.copying_score(values)
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and not got.is_complex():
            got = got.cpu()
            wrongs = (
                (values.abs().sum(-1) / values.abs().sum(-1), "uses |λ| on top as well as below, so every head scores 1: "
                 "the numerator is Σλ itself (its real part), so negative eigenvalues count against copying"),
                (values.sum(-1).real / values.real.abs().sum(-1), "divides by Σ|Re λ|: the denominator is Σ|λ|, the "
                 "moduli of the complex eigenvalues"),
                ((values.real > 0).sum(-1) / values.shape[-1], "counts the eigenvalues with a positive real part; the "
                 "score weighs each by its size: Re(Σλ) / Σ|λ|"),
                ((1 + expected) / 2, "is the share of the positive mass, (1 + score) / 2; this exercise's score is "
                 "Re(Σλ) / Σ|λ|, from -1 (all negative) to 1 (all positive)"),
            )
            if not torch.allclose(got.double(), expected.double(), atol=1e-5):
                for wrong, what in wrongs:
                    if torch.allclose(got.double(), wrong.double(), atol=1e-5):
                        fail(f"{call} {what}")
        if isinstance(got, torch.Tensor) and got.is_complex():
            fail(f"{call} is complex ({got.dtype}); the score is real: Re(Σλ) / Σ|λ| (the imaginary parts of a "
                 "real matrix's eigenvalues cancel in Σλ)")
        assert_close(got, expected, name=call, device=device, rtol=1e-5, atol=1e-6)


def check_eigenvalues(got, trusted, name, device, call):
    expected = torch.stack([FactoredMatrix(trusted.W_E @ trusted.W_V[l], trusted.W_O[l] @ trusted.W_U).eigenvalues
                            for l in range(trusted.cfg.n_layers)]).detach()
    cfg = trusted.cfg
    if not isinstance(got, torch.Tensor):
        fail(f"{call} must be a complex tensor [n_layers, n_heads, d_head], got {type(got).__name__}")
    got = got.cpu()
    if got.shape[-1] == cfg.d_vocab != cfg.d_head:
        fail(f"{call} has {cfg.d_vocab} eigenvalues per head: those are the eigenvalues of the full d_vocab x d_vocab "
             f"matrix AB, all but d_head = {cfg.d_head} of them 0. The nonzero ones are the eigenvalues of BA "
             f"[d_head x d_head], which is all you need (on GPT-2 small AB would be 50257 x 50257)")
    if got.shape[-1] == cfg.d_model != cfg.d_head:
        fail(f"{call} has {cfg.d_model} eigenvalues per head, those of a d_model x d_model matrix such as W_V W_O: "
             f"take them of BA [d_head x d_head] of the full circuit W_E W_V W_O W_U")
    if got.shape != expected.shape:
        fail(f"{call} has shape {list(got.shape)}, expected {list(expected.shape)} ([n_layers, n_heads, d_head])")
    if not got.is_complex():
        fail(f"{call} is real ({got.dtype}): BA is not symmetric, its eigenvalues are complex (torch.linalg.eigvals, "
             "not eigvalsh, and not the singular values)")
    got = got.to(expected.dtype)
    matched = match_eigenvalues(got, expected)
    tol = 1e-3 * float(expected.abs().max())
    if not torch.allclose(matched, expected, rtol=1e-3, atol=tol):
        residual = torch.stack([torch.linalg.eigvals(trusted.W_O[l] @ trusted.W_V[l]) for l in range(cfg.n_layers)]).detach()
        tied = torch.stack([FactoredMatrix(trusted.W_E @ trusted.W_V[l], trusted.W_O[l] @ trusted.W_E.T).eigenvalues
                            for l in range(cfg.n_layers)]).detach()
        for wrong, what in ((residual, "are those of W_O W_V alone: the full OV circuit reads tokens through W_E and "
                                       "writes logits through W_U, W_E W_V W_O W_U (BA = W_O W_U W_E W_V)"),
                            (tied, "unembed with W_Eᵀ: this model's W_U is its own matrix, not W_Eᵀ")):
            if torch.allclose(match_eigenvalues(got, wrong), wrong, rtol=1e-3, atol=1e-3 * float(wrong.abs().max())):
                fail(f"{call}: the eigenvalues {what}")
    assert_close(matched, expected, name=f"{call} (each head's eigenvalues, as a set)", device=device, rtol=1e-3, atol=tol)
    return expected


def test_ov_eigenvalues(submission, device):
    for name in CIRCUITS_MODELS:
        trusted, model = trusted_model(name), learner_model(submission, device, name, SLUG)
        check_eigenvalues(submission.ov_eigenvalues(model), trusted, name, device, f"ov_eigenvalues({name})")


def test_copying_heads(submission, reference, device):
    for name in CIRCUITS_MODELS:
        trusted, model = trusted_model(name), learner_model(submission, device, name, SLUG)
        scores = reference.copying_score(reference.ov_eigenvalues(trusted))
        for threshold in (0.7, 0.0, 0.9):
            call = f"copying_heads({name}, threshold={threshold})"
            got = as_heads(submission.copying_heads(model, threshold))
            if got is None:
                fail(f"{call} must return [[layer, head], ...] of ints")
            expected = reference.copying_heads(trusted, threshold)
            borderline = [[l, h] for l, h in ((scores - threshold).abs() < 1e-3).nonzero().tolist()]
            if [h for h in got if h not in borderline] != [h for h in expected if h not in borderline]:
                fail(f"{call} returned {heads_text(got)}, expected {heads_text(expected)} (the heads whose copying score "
                     f"is above {threshold}, sorted by layer then head)")


def test_copying_scores_of_a_trained_model(submission, reference, device, options, shipped_model):
    """The shipped model by default: copying_heads finds its induction heads (they attend to the
    token to predict, so they copy it). With `mi-exercise check copying-scores --model gpt2`: GPT-2
    small's 144 heads, whose full OV circuits are 50257 x 50257 (10 GB each in float32), so only
    code that works with BA runs."""
    name = options.get("model")
    if name and name != "gpt2":
        pytest.skip(f"--model {name}: this exercise runs on the shipped circuits models and GPT-2 small only")
    if name != "gpt2":
        model = learner_model(submission, device, "attn-only-circuits", SLUG)
        got = as_heads(submission.copying_heads(model, 0.7))
        missing = [h for h in induction_heads("attn-only-circuits") if got is None or list(h) not in got]
        if missing:
            fail(f"copying_heads(attn-only-circuits, 0.7) returned {got!r}; the model's induction heads "
                 f"{heads_text(missing)} copy (their scores are above 0.99) and must be among them")
        return
    trusted = trusted_gpt2_or_skip()
    model = shipped_gpt2_or_skip(shipped_model, device)
    call = f"ov_eigenvalues({GPT2_LABEL})"
    try:
        got = submission.ov_eigenvalues(model)
    except SubmissionOutOfMemory:
        fail(f"{call} ran out of memory: it formed a 50257 x 50257 full circuit. The eigenvalues you need are BA's")
    expected = check_eigenvalues(got, trusted, GPT2_LABEL, device, call)
    scores = reference.copying_score(expected)
    for threshold in (0.7, 0.9):
        got_heads = as_heads(submission.copying_heads(model, threshold))
        want = [[l, h] for l, h in (scores > threshold).nonzero().tolist()]
        borderline = [[l, h] for l, h in ((scores - threshold).abs() < 1e-2).nonzero().tolist()]
        if got_heads is None or [h for h in got_heads if h not in borderline] != [h for h in want if h not in borderline]:
            fail(f"copying_heads({GPT2_LABEL}, {threshold}) returned {got_heads if got_heads is None else heads_text(got_heads)}, "
                 f"expected {heads_text(want)}")
