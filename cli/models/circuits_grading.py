"""Helpers the circuits chapter's graders share: the shipped circuits models on the trusted side and
in the worker, the factors of a FactoredMatrix the learner's code returned, and eigenvalues compared
as a set."""

from __future__ import annotations

import functools

import pytest
import torch

from mi_exercise.grading import fail
from mi_exercise.models.induction import load_circuits_model
from mi_exercise.runner.outcomes import LearnerError, SubmissionOutOfMemory

CIRCUITS_MODELS = ("attn-only-circuits", "attn-only-circuits-3l")


@functools.lru_cache(maxsize=None)
def trusted_model(name: str = "attn-only-circuits"):
    """A shipped circuits model on the trusted side (CPU, cached for the grading process)."""
    return load_circuits_model("cpu", name)


def learner_model(submission, device: str, name: str, slug: str):
    """The same model loaded in the worker by the `load_circuits_model` the learner's file imports (a handle)."""
    if not submission.has("load_circuits_model"):
        fail(f"your file does not import load_circuits_model, so the worker cannot load the model. Put the stub's "
             f"import line back: from mi_exercise.models.induction import load_circuits_model (see the stub of {slug})")
    return submission.load_circuits_model(device, name)


def factors(result, call: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, B) of a FactoredMatrix the learner's code returned (it stays in the worker; only its
    factors cross), or a failure saying what came back instead."""
    if isinstance(result, torch.Tensor):
        fail(f"{call} returned a plain tensor {list(result.shape)}; return a FactoredMatrix(A, B) that keeps the two "
             "factors (the full matrix is what factoring avoids)")
    if not hasattr(result, "get"):
        fail(f"{call} must return a FactoredMatrix, got {type(result).__name__}: {result!r}")
    try:
        A, B = result.get("A"), result.get("B")
    except SubmissionOutOfMemory:
        fail(f"{call} ran out of memory reading its factors")
    except LearnerError:
        fail(f"{call} must return a FactoredMatrix (with .A and .B); what it returned has no factors A and B")
    if not isinstance(A, torch.Tensor) or not isinstance(B, torch.Tensor):
        fail(f"{call}: .A and .B must be tensors, got {type(A).__name__} and {type(B).__name__}")
    return A.cpu(), B.cpu()


def learner_factored(submission, A: torch.Tensor, B: torch.Tensor, slug: str):
    """FactoredMatrix(A, B) built in the worker with the FactoredMatrix the learner's file imports."""
    if not submission.has("FactoredMatrix"):
        fail(f"your file does not import FactoredMatrix, so the grader cannot hand you factored circuits. Put the "
             f"stub's import line back: from transformer_lens import FactoredMatrix (see the stub of {slug})")
    return submission.FactoredMatrix(A, B)


def match_eigenvalues(got: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
    """got reordered along its last axis so that each expected eigenvalue is paired with the nearest
    unused one of got (eig returns them in no defined order). Shapes must be equal."""
    flat_got, out = got.reshape(-1, got.shape[-1]), []
    for g, e in zip(flat_got, expected.reshape(-1, expected.shape[-1])):
        free, row = list(range(len(g))), []
        for value in e.tolist():
            j = min(free, key=lambda i: abs(complex(g[i]) - complex(value)))
            free.remove(j)
            row.append(g[j])
        out.append(torch.stack(row))
    return torch.stack(out).reshape(expected.shape)


def skip_unless_shipped(options) -> None:
    name = options.get("model")
    if name and name != "gpt2":
        pytest.skip(f"--model {name}: this exercise runs on the shipped circuits models and GPT-2 small only")
