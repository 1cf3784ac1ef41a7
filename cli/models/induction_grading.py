"""Helpers the TransformerLens chapter's graders share for `mi-exercise check SLUG --model gpt2`:
GPT-2 small on the trusted side (from the local Hugging Face cache only), GPT-2 small in the
worker (the `shipped_model` fixture: loaded by our own loader, whatever the learner's file imports), and seeded tokens.

Without GPT-2's weights on this machine a test asks pytest to skip, so the check reports it "not
run" (not counted) with the GPT-2 chapter's instructions for fetching the weights once.
"""

from __future__ import annotations

import functools

import pytest
import torch

from mi_exercise.models.induction import ModelUnavailable, gpt2_bos, load_gpt2
from mi_exercise.runner.outcomes import LearnerError

GPT2_LABEL = "GPT-2 small"


@functools.lru_cache(maxsize=1)
def _trusted_gpt2():
    return load_gpt2("cpu")


def trusted_gpt2_or_skip():
    """GPT-2 small on the trusted side (CPU, cached for the grading process), or a skip saying how
    to get its weights."""
    try:
        return _trusted_gpt2()
    except ModelUnavailable as exc:
        pytest.skip(f"--model gpt2: GPT-2 small could not be loaded, so this test did not run: {exc}")


def shipped_gpt2_or_skip(shipped_model, device: str):
    """GPT-2 small loaded in the worker by mi-exercise's own loader (a handle to it), or a skip."""
    try:
        return shipped_model("gpt2", device)
    except LearnerError as exc:
        raise AssertionError(f"--model gpt2: the worker could not load GPT-2 small ({exc.message.splitlines()[0][:400]}); "
                    "with --sandbox the worker may not see the Hugging Face cache")


def bos_and_random_tokens(model, batch: int, length: int, seed: int) -> torch.Tensor:
    """int64 [batch, 1 + length]: the model's BOS, then `length` seeded random non-BOS tokens."""
    d_vocab = int(model.cfg.d_vocab)
    bos = gpt2_bos(model)
    body = torch.randint(0, d_vocab - 1, (batch, length), generator=torch.Generator().manual_seed(seed))
    body = body + (body >= bos).long()
    return torch.cat([torch.full((batch, 1), bos, dtype=torch.long), body], dim=1)


def heads_text(heads) -> str:
    return ", ".join(f"{l}.{h}" for l, h in heads) if heads else "none"


def as_heads(value) -> list[list[int]] | None:
    """A learner's [[layer, head], ...] as a sorted list of int pairs, or None when it is not one."""
    if not isinstance(value, (list, tuple)):
        return None
    out = []
    for h in value:
        if not isinstance(h, (list, tuple)) or len(h) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in h):
            return None
        out.append([int(h[0]), int(h[1])])
    return sorted(out)
