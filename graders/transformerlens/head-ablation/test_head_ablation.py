"""Grader for head-ablation. The tensor functions (head_means, zero_ablate_head,
mean_ablate_head) are checked against the reference on seeded random activations (batch 1, a
non-contiguous view) and on cached hook_z activations of the shipped model, and must leave the
cached tensors they are given untouched. The hooked runs must match the reference's ablated
logits and losses and leave the model clean afterwards. Last, on the shipped model: ablating
its four induction heads together must erase the copying on the repeated half (and leave the
first half alone), far beyond what ablating any one head does."""

import pytest
import torch

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.induction import induction_heads, load_induction_model, per_token_loss, repeated_tokens
from mi_exercise.runner.outcomes import LearnerError


@pytest.fixture(scope="module")
def trusted():
    return load_induction_model()


@pytest.fixture(scope="module")
def cached_z(trusted):
    """hook_z of every layer on a repeated batch: [2, 21, n_heads, d_head] each."""
    _, cache = trusted.run_with_cache(repeated_tokens(10, batch=2, seed=11))
    return [cache[f"blocks.{layer}.attn.hook_z"].detach().clone() for layer in range(trusted.cfg.n_layers)]


def random_z(seed: int, batch: int, pos: int, n_heads: int, d_head: int) -> torch.Tensor:
    return torch.randn(batch, pos, n_heads, d_head, generator=torch.Generator().manual_seed(seed))


def z_inputs(cached_z):
    """(description, z) pairs: cached activations, then random shapes (batch 1, non-square, a non-contiguous view)."""
    strided = random_z(3, 6, 4, 3, 5).transpose(0, 1)  # [4, 6, 3, 5], not contiguous
    return [
        *[(f"cached blocks.{layer}.attn.hook_z [2, 21, 4, 16]", z) for layer, z in enumerate(cached_z)],
        ("random z [1, 7, 4, 16]", random_z(0, 1, 7, 4, 16)),
        ("random z [3, 5, 2, 6]", random_z(1, 3, 5, 2, 6)),
        ("a non-contiguous z [4, 6, 3, 5]", strided),
    ]


def check_untouched(result, call: str, names: list[str]) -> None:
    """Fail, naming the argument, when a call changed a tensor it was given."""
    if result.mutated:
        which = ", ".join(names[k] if isinstance(k, int) and k < len(names) else str(k) for k in result.mutated)
        fail(f"{call} changed {which} in place. An ablation must return a new tensor: the z you are given may be "
             "a cached activation (or the means you computed from one), and writing into it corrupts the cache for "
             "every later use. Clone first (z = z.clone()), then write into the copy")


@torch.no_grad()
def assert_model_clean(model, trusted, device, after: str) -> None:
    toks = repeated_tokens(6, batch=1, seed=0)
    clean = trusted(toks)
    assert_close(model(toks.to(device)), clean, name=f"model(tokens) after {after} (the ablation hooks must be removed "
                 "once the run is over: use run_with_hooks, or reset_hooks() after add_hook)", device=device,
                 rtol=1e-4, atol=1e-4)


def test_head_means(submission, reference, cached_z, device):
    for what, z in z_inputs(cached_z):
        got = submission.head_means(z)
        expected = reference.head_means(z)
        if isinstance(got, torch.Tensor) and got.shape != expected.shape:
            fail(f"head_means({what}) returned shape {list(got.shape)}, expected [n_heads, d_head] = {list(expected.shape)}: "
                 "average over the batch (dim 0) and the positions (dim 1) of z [batch, pos, n_heads, d_head]")
        assert_close(got, expected, name=f"head_means({what})", device=device, rtol=1e-4, atol=1e-5)


def test_zero_ablate_head(submission, reference, cached_z, device):
    for what, z in z_inputs(cached_z):
        for head in sorted({0, z.shape[2] - 1}):
            call = f"zero_ablate_head({what}, head={head})"
            result = submission.zero_ablate_head.full(z, head)
            check_untouched(result, call, ["z", "head"])
            assert_close(result.value, reference.zero_ablate_head(z, head), name=call, device=device)


def test_mean_ablate_head(submission, reference, cached_z, device):
    for what, z in z_inputs(cached_z):
        means = reference.head_means(z)
        for head in sorted({0, z.shape[2] - 1}):
            call = f"mean_ablate_head({what}, head={head}, means {list(means.shape)})"
            result = submission.mean_ablate_head.full(z, head, means)
            check_untouched(result, call, ["z", "head", "means"])
            assert_close(result.value, reference.mean_ablate_head(z, head, means), name=call, device=device,
                         rtol=1e-5, atol=1e-6)
    # a means tensor from another batch: the head's vector must be the one given, at every position
    z = cached_z[1]
    means = random_z(7, 1, 1, z.shape[2], z.shape[3])[0, 0]
    assert_close(submission.mean_ablate_head(z, 2, means), reference.mean_ablate_head(z, 2, means),
                 name="mean_ablate_head(cached layer-1 z, head=2, random means [4, 16])", device=device)


def test_mean_activations(submission, reference, trusted, device, shipped_model):
    model = shipped_model("induction", device)
    for seq_len, batch, seed in [(5, 1, 0), (12, 3, 1)]:
        toks = repeated_tokens(seq_len, batch=batch, seed=seed)
        assert_close(submission.mean_activations(model, toks.to(device)), reference.mean_activations(trusted, toks),
                     name=f"mean_activations(model, tokens [{batch}, {1 + 2 * seq_len}]) ([n_layers, n_heads, d_head])",
                     device=device, rtol=1e-4, atol=1e-5)


@pytest.mark.uses(zero_ablate_head="test_zero_ablate_head", mean_ablate_head="test_mean_ablate_head", mean_activations="test_mean_activations")
def test_run_with_ablation(submission, reference, trusted, device, shipped_model):
    model = shipped_model("induction", device)
    toks = repeated_tokens(10, batch=2, seed=3)
    means = reference.mean_activations(trusted, toks)
    with torch.no_grad():
        clean = trusted(toks)
    for heads in [[[1, 0]], [[0, 1], [1, 3]], [[1, 0], [1, 1], [1, 2], [1, 3]], []]:
        for m in [None, means]:
            kind = "zero" if m is None else "mean"
            call = f"run_with_ablation(model, tokens [2, 21], heads={heads}, means={'None' if m is None else 'means [2, 4, 16]'})"
            got = submission.run_with_ablation(model, toks.to(device), heads, m)
            expected = reference.run_with_ablation(trusted, toks, heads, m)
            if heads and isinstance(got, torch.Tensor) and got.shape == clean.shape and torch.allclose(got.cpu(), clean, atol=1e-5):
                fail(f"{call} returned the clean logits: the {kind} ablation had no effect. A hook that changes "
                     "the activation must return the new tensor (TransformerLens uses what the hook returns) or edit "
                     "the activation it was given in place and return None (a copy it edits and drops is lost), and it "
                     "must sit on blocks.L.attn.hook_z: TransformerBridge discards edits at some hook points, such as "
                     "hook_attn_scores")
            assert_model_clean(model, trusted, device, call)
            assert_close(got, expected, name=f"{call} (logits of the ablated run)", device=device, rtol=1e-4, atol=1e-4)


@pytest.mark.uses(run_with_ablation="test_run_with_ablation", mean_activations="test_mean_activations")
def test_half_loss_increase(submission, reference, trusted, device, shipped_model):
    model = shipped_model("induction", device)
    for seq_len, batch, seed, heads in [(8, 2, 4, [[1, 1]]), (15, 3, 5, [[0, 0], [0, 2]])]:
        toks = repeated_tokens(seq_len, batch=batch, seed=seed)
        for ablation in ["zero", "mean"]:
            call = f"half_loss_increase(model, tokens [{batch}, {1 + 2 * seq_len}], seq_len={seq_len}, heads={heads}, {ablation!r})"
            got = submission.half_loss_increase(model, toks.to(device), seq_len, heads, ablation)
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                fail(f"{call} must return (first_half_increase, second_half_increase), got {got!r}")
            expected = reference.half_loss_increase(trusted, toks, seq_len, heads, ablation)
            assert_close(tuple(float(v) for v in got), expected, name=f"{call} (first half, repeated half)",
                         device=device, rtol=1e-3, atol=1e-4)
    assert_model_clean(model, trusted, device, "half_loss_increase")
    toks = repeated_tokens(5, batch=1, seed=0).to(device)
    try:
        got = submission.half_loss_increase(model, toks, 5, [[1, 0]], "resample")
    except LearnerError as exc:
        if "ValueError" not in str(exc):
            fail(f"half_loss_increase with ablation='resample' should raise ValueError, it raised: {str(exc).splitlines()[0]}")
        return
    fail(f"half_loss_increase(..., ablation='resample') returned {got!r}; an ablation other than 'zero' or 'mean' must raise ValueError")


@pytest.mark.uses(half_loss_increase="test_half_loss_increase")
def test_loss_increase_per_head(submission, reference, trusted, device, shipped_model):
    model = shipped_model("induction", device)
    for seq_len, batch, seed in [(10, 2, 6), (15, 2, 7)]:
        toks = repeated_tokens(seq_len, batch=batch, seed=seed)
        for ablation in ["zero", "mean"]:
            call = f"loss_increase_per_head(model, tokens [{batch}, {1 + 2 * seq_len}], seq_len={seq_len}, {ablation!r})"
            got = submission.loss_increase_per_head(model, toks.to(device), seq_len, ablation)
            expected = reference.loss_increase_per_head(trusted, toks, seq_len, ablation)
            assert_close(got, expected, name=f"{call} (repeated-half loss increase, [n_layers, n_heads])",
                         device=device, rtol=1e-3, atol=1e-4, check_dtype=False)
    assert_model_clean(model, trusted, device, "loss_increase_per_head")


@pytest.mark.uses(half_loss_increase="test_half_loss_increase")
def test_induction_heads_matter_together(submission, trusted, device, shipped_model):
    """The shipped model's four induction heads back each other up: one at a time they cost little, together
    they carry all the copying. (Its previous-token heads feed them, so ablating those erases copying too.)"""
    model = shipped_model("induction", device)
    seq_len = 25
    toks = repeated_tokens(seq_len, batch=8, seed=2)
    clean = per_token_loss(trusted, toks)
    gap = float(clean[:, :seq_len].mean() - clean[:, seq_len:].mean())  # what copying saves on the repeated half
    heads = [list(h) for h in induction_heads()]
    first, second = submission.half_loss_increase(model, toks.to(device), seq_len, heads, "mean")
    if not second > 0.9 * gap:
        fail(f"mean-ablating the induction heads {heads} together raised the repeated-half loss by {second:.3f}; "
             f"copying saves {gap:.3f} there, and without these heads it should be (almost) all lost")
    if abs(first) > 0.2:
        fail(f"mean-ablating the induction heads {heads} changed the first-half loss by {first:.3f}: the first copy "
             "cannot be predicted from context, so it should barely move (is the loss split at seq_len?)")
    per_head = submission.loss_increase_per_head(model, toks.to(device), seq_len, "zero")
    together = submission.half_loss_increase(model, toks.to(device), seq_len, heads, "zero")[1]
    singles = sum(float(per_head[layer, head]) for layer, head in heads)
    if not together > 2 * singles or not together > 2 * float(per_head.max()):
        fail(f"zero-ablating the induction heads together raised the repeated-half loss by {together:.3f}, one at a "
             f"time by {singles:.3f} in all (largest single head {float(per_head.max()):.3f}); together they should "
             "cost far more than the sum of their single ablations")
