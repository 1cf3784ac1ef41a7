"""Grader for qk-ov-circuits. The full QK and OV circuits of every head must equal the reference's
on both shipped circuits models (2 and 3 layers), kept factored; the positional pattern of a head
must equal the reference's, with diagnoses for the classic slips (queries and keys swapped, the
softmax over queries, no causal mask, no 1/sqrt(d_head)); on the model's previous-token heads it
must put most of its weight one position back. Top-k copying accuracy is checked on circuits with
known answers, on the model's own OV circuits, and on a 50000 x 50000 circuit that would take
10 GB if formed."""

import math

import torch
from transformer_lens import FactoredMatrix

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.circuits_grading import (
    CIRCUITS_MODELS,
    factors,
    learner_factored,
    learner_model,
    trusted_model,
)
from mi_exercise.models.induction import previous_token_heads
from mi_exercise.runner.outcomes import LearnerError, SubmissionOutOfMemory

SLUG = "qk-ov-circuits"


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-4 * float(b.abs().max()))


def check_circuit(submission, device, kind: str):
    for name in CIRCUITS_MODELS:
        trusted, model = trusted_model(name), learner_model(submission, device, name, SLUG)
        cfg = trusted.cfg
        W_E, W_U = trusted.W_E.detach(), trusted.W_U.detach()
        for layer in range(cfg.n_layers):
            call = f"full_{kind}_circuit({name}, layer={layer})"
            A, B = factors(getattr(submission, f"full_{kind}_circuit")(model, layer), call)
            want = (trusted.W_Q[layer] @ trusted.W_K[layer].mT if kind == "qk" else trusted.W_V[layer] @ trusted.W_O[layer]).detach()
            if kind == "qk":
                expected = W_E @ want @ W_E.T
            else:
                expected = W_E @ want @ W_U
            got = A @ B
            if got.shape[-2:] != expected.shape[-2:] and cfg.n_ctx in got.shape[-2:]:
                fail(f"{call} has shape {list(got.shape)}: {cfg.n_ctx} is n_ctx, so W_pos went in where W_E belongs. "
                     "The full circuit is over tokens: W_E on the way in")
            if got.shape != expected.shape:
                fail(f"{call}: A @ B has shape {list(got.shape)}, expected {list(expected.shape)} "
                     f"([n_heads, d_vocab, d_vocab], one circuit per head)")
            if close(got, expected.mT) and not close(got, expected):
                what = ("queries and keys are swapped: rows must be the query token, columns the key token, "
                        "W_E W_Q W_Kᵀ W_Eᵀ" if kind == "qk" else
                        "rows must be the source token (the one attended to) and columns the logit it raises, "
                        "W_E W_V W_O W_U")
                fail(f"{call} is the transpose of the circuit: {what}")
            if kind == "qk" and close(got, expected / math.sqrt(cfg.d_head)):
                fail(f"{call} is divided by sqrt(d_head): the circuit is the bilinear form itself; the attention "
                     "scores divide by sqrt(d_head) later")
            if kind == "ov" and close(got, W_E @ want @ W_E.T):
                fail(f"{call} unembeds with W_Eᵀ: this model's unembedding W_U is its own matrix (not tied to W_E)")
            assert_close(got, expected, name=f"{call}: A @ B", device=device, rtol=1e-4, atol=1e-4)
            if A.shape[-1] != cfg.d_head:
                fail(f"{call}: the factors meet in {A.shape[-1]} dimensions, expected d_head = {cfg.d_head}: keep the "
                     f"circuit factored, A = W_E W_{'Q' if kind == 'qk' else 'V'} [n_heads, d_vocab, d_head]")


def test_full_qk_circuit(submission, device):
    check_circuit(submission, device, "qk")


def test_full_ov_circuit(submission, device):
    check_circuit(submission, device, "ov")


def reference_pattern(model, layer, head, n, *, scale=True, mask=True, dim=-1, swap=False, norm=True):
    W_pos = model.W_pos.detach()[:n]
    if norm:
        W_pos = W_pos - W_pos.mean(-1, keepdim=True)
        W_pos = W_pos / (W_pos.pow(2).mean(-1, keepdim=True) + model.cfg.eps).sqrt()
    q, k = W_pos @ model.W_Q[layer, head].detach(), W_pos @ model.W_K[layer, head].detach()
    scores = (k @ q.T if swap else q @ k.T) / (math.sqrt(model.cfg.d_head) if scale else 1.0)
    if mask:
        scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1), float("-inf"))
    return scores.softmax(dim=dim)


def test_positional_pattern(submission, reference, device):
    for name in CIRCUITS_MODELS:
        trusted, model = trusted_model(name), learner_model(submission, device, name, SLUG)
        for layer, head in [(0, h) for h in range(trusted.cfg.n_heads)] + [(1, 0)]:
            for n in (12, 40):
                call = f"positional_pattern({name}, layer={layer}, head={head}, n_positions={n})"
                got = submission.positional_pattern(model, layer, head, n)
                if not isinstance(got, torch.Tensor) or got.shape != (n, n):
                    fail(f"{call} must be a [{n}, {n}] tensor (query positions by key positions), got "
                         f"{list(got.shape) if isinstance(got, torch.Tensor) else repr(got)}")
                got = got.cpu()
                expected = reference.positional_pattern(trusted, layer, head, n)
                for wrong, what in (
                        (dict(dim=0), "the softmax runs over the queries (dim 0): each row, one query, must sum to 1 "
                                      "over its keys (softmax over the last dim)"),
                        (dict(mask=False), "no causal mask: a query cannot attend to later positions, so set the "
                                           "scores above the diagonal to -inf before the softmax"),
                        (dict(scale=False), "the scores are not divided by sqrt(d_head) before the softmax"),
                        (dict(norm=False), "W_pos goes in raw: the model normalises the residual stream before every "
                                           "head (LNPre: centre each row over d_model, divide by its RMS), so normalise "
                                           "the position embeddings first"),
                        (dict(swap=True), "queries and keys are swapped (W_pos W_K W_Qᵀ W_posᵀ): rows are queries, "
                                          "read through W_Q; columns keys, read through W_K")):
                    if close(got, reference_pattern(trusted, layer, head, n, **wrong)) and not close(got, expected):
                        fail(f"{call}: {what}")
                assert_close(got, expected, name=call, device=device, rtol=1e-4, atol=1e-5)


def test_previous_token_heads_from_weights(submission, device):
    """The positional patterns of the model's previous-token heads, computed by your code, put most of
    their weight on the diagonal at offset -1, out to position 80 (the chapter's sequences)."""
    for name in CIRCUITS_MODELS:
        model = learner_model(submission, device, name, SLUG)
        for layer, head in previous_token_heads(name):
            got = submission.positional_pattern(model, layer, head, 81).cpu()
            back = got.diagonal(-1).mean().item()
            if back < 0.5:
                fail(f"positional_pattern({name}, {layer}, {head}, 81), a previous-token head's, puts {back:.2f} on "
                     "the previous position on average; the reference puts most of its weight there")


def accuracy_cases():
    gen = torch.Generator().manual_seed(5)
    A = torch.randn(60, 8, generator=gen)
    A = A / A.norm(dim=-1, keepdim=True)
    yield "a perfect copier (A Aᵀ, rows of A unit length) [60, 60]", A, A.T.clone(), [1, 3]
    perm = torch.randperm(60, generator=gen)
    yield "a copier whose outputs are permuted [60, 60]", A, A.T[:, perm].clone(), [1, 5]
    yield "random factors [50, 50] of rank 6", torch.randn(50, 6, generator=gen), torch.randn(6, 50, generator=gen), [1, 2, 10]
    # rows where the diagonal wins its row but not its column, and the other way round
    skew = torch.randn(40, 40, generator=gen)
    skew[torch.arange(40), torch.arange(40)] = 0
    skew = skew + torch.diag(torch.linspace(-3, 3, 40)) + torch.linspace(-3, 3, 40)[:, None]
    U, S, Vh = torch.linalg.svd(skew)
    yield "a lopsided circuit [40, 40]", U[:, :20] * S[:20], Vh[:20].clone(), [1, 3]


def test_top_k_copying_accuracy(submission, reference, device):
    for label, A, B, ks in accuracy_cases():
        circuit = learner_factored(submission, A, B, SLUG)
        for k in ks:
            call = f"top_k_copying_accuracy({label}, k={k})"
            got = submission.top_k_copying_accuracy(circuit, k)
            expected = reference.top_k_copying_accuracy(FactoredMatrix(A, B), k)
            if isinstance(got, torch.Tensor) and got.numel() == 1:
                got = got.item()
            if not isinstance(got, (int, float)):
                fail(f"{call} must return a float (the share of source tokens that copy), got {got!r}")
            wrong_axis = reference.top_k_copying_accuracy(FactoredMatrix(B.T, A.T), k)
            if abs(got - expected) > 1e-6 and abs(got - wrong_axis) < 1e-6:
                fail(f"{call} is {got:.4f}, the accuracy of the transposed circuit: you took the top k over the source "
                     f"tokens (dim 0). Row t holds the logits source token t writes: take each row's top k (dim -1) and "
                     f"ask whether t is among them. Expected {expected:.4f}")
            if abs(got - expected) > 1e-6:
                fail(f"{call} is {got!r}, expected {expected:.4f} (the share of rows t whose k largest entries include "
                     "column t)")


def test_copying_accuracy_of_the_models_heads(submission, reference, device):
    """Your accuracy of every head's full OV circuit from your full_ov_circuit, on the shipped model."""
    name = "attn-only-circuits"
    trusted, model = trusted_model(name), learner_model(submission, device, name, SLUG)
    expected_all = reference.full_ov_circuit(trusted, 1)
    got_all = submission.full_ov_circuit(model, 1)
    A, B = factors(got_all, f"full_ov_circuit({name}, layer=1)")
    for head in range(trusted.cfg.n_heads):
        circuit = learner_factored(submission, A[head], B[head], SLUG)
        got = submission.top_k_copying_accuracy(circuit, 5)
        got = got.item() if isinstance(got, torch.Tensor) else got
        expected = reference.top_k_copying_accuracy(FactoredMatrix(expected_all.A[head], expected_all.B[head]), 5)
        if not isinstance(got, (int, float)) or abs(got - expected) > 1.5 / trusted.cfg.d_vocab:
            fail(f"top_k_copying_accuracy(full OV circuit of head 1.{head}, k=5) is {got!r}, expected {expected:.4f}")


def test_accuracy_never_forms_the_full_matrix(submission, reference, device):
    """A 50000 x 50000 circuit of rank 8 (10 GB in float32 if formed, over the check's 6 GB): work
    through it a block of rows at a time (a block of a few thousand rows fits)."""
    gen = torch.Generator().manual_seed(9)
    A = torch.randn(50000, 8, generator=gen)
    B = (A + 0.5 * torch.randn(50000, 8, generator=gen)).T.contiguous()
    circuit = learner_factored(submission, A, B, SLUG)
    call = "top_k_copying_accuracy(a 50000 x 50000 circuit of rank 8, k=1)"
    try:
        got = submission.top_k_copying_accuracy(circuit, 1)
    except SubmissionOutOfMemory:
        fail(f"{call} ran out of memory: the whole 50000 x 50000 matrix would take 10 GB, so it cannot be formed at "
             "once. Take the rows a block at a time: circuit.A[i:j] @ circuit.B is [j - i, 50000] (a few thousand rows "
             "per block fit)")
    except LearnerError as exc:
        if "memory" in exc.message.lower() or "allocate" in exc.message.lower():
            fail(f"{call} ran out of memory: the whole 50000 x 50000 matrix (10 GB) cannot be formed at once; take a "
                 "block of a few thousand rows at a time")
        raise
    got = got.item() if isinstance(got, torch.Tensor) else got
    expected = reference.top_k_copying_accuracy(FactoredMatrix(A, B), 1)
    if not isinstance(got, (int, float)) or abs(got - expected) > 1e-6:
        fail(f"{call} is {got!r}, expected {expected:.4f}")
