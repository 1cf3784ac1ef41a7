"""Helpers the gpt2 chapter's graders share: build a learner component through the proxy, load the
reference's weights into it with a message that names any wrong parameter, and cache the
reference model per shape.

    from mi_exercise.models.gpt2_grading import build, load_weights, reference_for

Learner components are nn.Module classes taking the config dict; `build(submission, "Attention",
cfg)` returns a RemoteObject that lives in the worker.
"""

from __future__ import annotations

import functools

import pytest
import torch

from mi_exercise.grading import fail
from mi_exercise.models import gpt2_reference
from mi_exercise.runner.outcomes import LearnerError


def shapes_text(sd: dict[str, torch.Tensor]) -> str:
    return ", ".join(f"{k} {list(v.shape)}" for k, v in sd.items())


def build(submission, class_name: str, cfg: dict):
    """`submission.<class_name>(cfg)`, failing with a pointed message when the class is missing."""
    if not submission.has(class_name):
        fail(f"your file defines no `{class_name}`; keep the class name from the stub")
    return getattr(submission, class_name)(dict(cfg))


def load_weights(module, sd: dict[str, torch.Tensor], what: str) -> None:
    """module.load_state_dict(sd) in the worker; every naming or shape problem becomes a message."""
    try:
        result = module.load_state_dict(sd, strict=False)
    except LearnerError as exc:
        fail(f"{what}.load_state_dict(reference weights) failed: {exc.message.splitlines()[0][:600]}\n"
             f"    the weights {what} must hold: {shapes_text(sd)}")
    # A buffer of the learner's own (a causal mask, an IGNORE constant) is not a GPT-2 weight and
    # keeps its value; only parameters must match GPT-2's names.
    missing = [k for k in result.get("missing_keys") if is_parameter(module, k)]
    unexpected = list(result.get("unexpected_keys"))
    if unexpected:
        fail(f"{what} has no parameter(s) named {unexpected}; name your nn.Parameters exactly as the stub says.\n"
             f"    expected: {shapes_text(sd)}")
    if missing:
        fail(f"{what} has parameters {missing} that GPT-2's weights do not have; use only the names in the "
             f"stub.\n    expected: {shapes_text(sd)}")


def is_parameter(module, name: str) -> bool:
    """Whether `name` (a state_dict key) is one of the learner module's nn.Parameters, not a buffer."""
    try:
        module.get_parameter(name)
    except LearnerError:
        return False
    return True


def parameter_names(module) -> set[str]:
    """The learner module's parameter names (its state_dict keys less its buffers)."""
    names = module.state_dict()
    if not isinstance(names, dict):
        fail("state_dict() should return the module's weights as a dict")
    return {k for k in names if is_parameter(module, k)}


@functools.lru_cache(maxsize=2)
def reference_for(full: bool = False, seed: int = 0):
    """(learner config, bridge, learner-format state dict) of the seeded reference model."""
    cfg = gpt2_reference.config(full)
    bridge = gpt2_reference.boot_reference(cfg, seed=seed)
    return cfg, bridge, gpt2_reference.learner_state_dict(bridge)


def randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale


def tokens(seed: int, batch: int, seq: int, d_vocab: int) -> torch.Tensor:
    return torch.randint(0, d_vocab, (batch, seq), generator=torch.Generator().manual_seed(seed))


@pytest.fixture(autouse=True)
def one_thread():
    """Graders whose tensors are small import this: on a busy machine two trusted-side threads
    wait on each other and each small op runs ~10x slower, so one thread while the grader runs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
