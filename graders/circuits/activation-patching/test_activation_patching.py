"""Grader for activation-patching. The corruption, the metric and its normalisation are checked on
seeded tokens and logits (with the classic mistakes named: the wrong half or position corrupted,
the input changed in place, the sign flipped, the metric read at the wrong position, no
normalisation); each patch against the reference's logits on the shipped model (and the model
left without hooks); the two sweeps against the reference; last, with the learner's functions, the
finding: the corrupted token is restored at its own position before layer 1 and at the query after
it, and the heads that carry the token (the induction heads and the layer-0 heads feeding their
values) restore the copying while the previous-token heads do not."""

import pytest
import torch

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.induction import induction_heads, load_induction_model, previous_token_heads, repeated_tokens


@pytest.fixture(scope="module")
def trusted():
    return load_induction_model()



def setup(seq_len: int, k: int, batch: int, seed: int):
    """clean tokens, the corrupting tokens (never in the row's sequence), the query position and answers."""
    clean = repeated_tokens(seq_len, batch=batch, seed=seed)
    correct = clean[:, 2 + k].clone()
    wrong = torch.empty_like(correct)
    for b in range(batch):
        used = set(clean[b].tolist())
        wrong[b] = next(t for t in range(int(correct[b]) + 1, int(correct[b]) + 128) if (t % 128) and t % 128 not in used) % 128
    return clean, wrong, 1 + seq_len + k, correct


def test_corrupt_copied_token(submission, reference, device):
    for seq_len, k, batch, seed in [(8, 2, 3, 0), (12, 0, 1, 1), (12, 10, 2, 2)]:
        clean, wrong, pos, _ = setup(seq_len, k, batch, seed)
        call = f"corrupt_copied_token(tokens [{batch}, {1 + 2 * seq_len}], seq_len={seq_len}, k={k}, wrong)"
        result = submission.corrupt_copied_token.full(clean, seq_len, k, wrong)
        if result.mutated:
            fail(f"{call} changed tokens in place: the clean run needs them unchanged. Clone first")
        got, expected = result.value, reference.corrupt_copied_token(clean, seq_len, k, wrong)
        if isinstance(got, torch.Tensor) and got.shape == clean.shape:
            changed = sorted({int(p) for p in (got.cpu() != clean).nonzero()[:, 1].tolist()})
            if changed == [2 + k + seq_len]:
                fail(f"{call} changed position {2 + k + seq_len}, seq[k + 1] in the SECOND copy: the wrong half. The query "
                     f"at {pos} cannot see later positions, so that corruption changes nothing; corrupt the copy the "
                     f"induction head reads from, the first, at position 2 + k = {2 + k}")
            if changed and changed != [2 + k] and len(changed) == 1:
                fail(f"{call} changed position {changed[0]}; seq[k + 1] of the first copy sits at 2 + k = {2 + k} "
                     "(position 0 is BOS, seq[i] is at 1 + i)")
        assert_close(got, expected, name=call, device=device)


def test_logit_difference(submission, reference, device):
    logits = torch.randn(3, 9, 20, generator=torch.Generator().manual_seed(4))
    correct, wrong = torch.tensor([1, 5, 7]), torch.tensor([2, 0, 19])
    for pos in (4, 8):
        got = submission.logit_difference(logits, pos, correct, wrong)
        expected = reference.logit_difference(logits, pos, correct, wrong)
        call = f"logit_difference(logits [3, 9, 20], pos={pos}, correct, wrong)"
        if isinstance(got, torch.Tensor) and got.shape == expected.shape:
            if torch.allclose(got.cpu(), -expected, atol=1e-5):
                fail(f"{call} has its sign flipped: wrong minus correct. The metric is logit(correct) - logit(wrong), "
                     "large when the model copies the right token")
            for other in (pos - 1, pos + 1):
                if 0 <= other < 9 and torch.allclose(got.cpu(), reference.logit_difference(logits, other, correct, wrong), atol=1e-5):
                    fail(f"{call} read the logits at position {other}, not {pos}: the prediction of the token after the "
                         "query is the query's own row of logits")
        assert_close(got, expected, name=call, device=device)


def test_normalised(submission, reference, device):
    cases = [(1.0, 4.0, -2.0), (-2.0, 4.0, -2.0), (4.0, 4.0, -2.0), (torch.tensor([0.5, 3.0]), 3.0, 1.0)]
    for patched, clean, corrupted in cases:
        got = submission.normalised(patched, clean, corrupted)
        expected = reference.normalised(patched, clean, corrupted)
        call = f"normalised(patched={patched}, clean={clean}, corrupted={corrupted})"
        g = torch.as_tensor(got, dtype=torch.float32).cpu()
        e = torch.as_tensor(expected, dtype=torch.float32)
        if g.shape == e.shape and not torch.allclose(g, e, atol=1e-5):
            if torch.allclose(g, 1 - e, atol=1e-5):
                fail(f"{call} = {got}: the scale is flipped, clean should be 1 and corrupted 0 "
                     "((patched - corrupted) / (clean - corrupted))")
            if torch.allclose(g, torch.as_tensor(patched, dtype=torch.float32) - corrupted, atol=1e-5):
                fail(f"{call} = {got}: not normalised. Divide by (clean - corrupted), so 1 means the patch restores the "
                     "whole clean behaviour whatever the logits' scale")
        assert_close(got, expected, name=call, device=device, check_dtype=False)


def test_patch_residual(submission, reference, trusted, device, shipped_model):
    model = shipped_model("induction", device)
    clean, wrong, pos, correct = setup(6, 2, 2, 5)
    corrupted = reference.corrupt_copied_token(clean, 6, 2, wrong)
    _, cache = trusted.run_with_cache(clean)
    for name in reference.residual_hook_names(trusted.cfg.n_layers):
        for p in (4, pos):
            call = f"patch_residual(model, corrupted [2, 13], clean {name}, {name!r}, pos={p})"
            got = submission.patch_residual(model, corrupted.to(device), cache[name].to(device), name, p)
            expected = reference.patch_residual(trusted, corrupted, cache[name], name, p)
            if isinstance(got, torch.Tensor) and got.shape == expected.shape and not torch.allclose(got.cpu(), expected, atol=1e-4):
                near = [o for o in (p - 1, p + 1) if 0 <= o < clean.shape[1] and torch.allclose(
                    got.cpu(), reference.patch_residual(trusted, corrupted, cache[name], name, o), atol=1e-4)]
                if near:
                    fail(f"{call} patched " + (f"position {near[0]}" if len(near) == 1 else f"a position next to {p}") +
                         f" instead of {p}: patching the wrong position. Replace resid[:, pos] only (position i holds "
                         "token i; its logits predict token i + 1, but the patch goes where the activation is)")
                with torch.no_grad():
                    if torch.allclose(got.cpu(), trusted(corrupted), atol=1e-5) and not torch.allclose(expected, trusted(corrupted), atol=1e-5):
                        fail(f"{call} returned the corrupted run's logits: the patch had no effect. The hook must return the "
                             f"patched tensor and sit on {name!r}")
            assert_close(got, expected, name=call + " (logits)", device=device, rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        assert_close(model(corrupted.to(device)), trusted(corrupted), name="model(corrupted) after patch_residual (no hook "
                     "may stay on the model: use run_with_hooks)", device=device, rtol=1e-4, atol=1e-4)


def wrong_hook_patch(model, corrupted, clean_z, layer, head, hook):
    def patch(act, hook):  # TransformerLens passes hook= by name
        act = act.clone()
        act[:, :, head] = clean_z[:, :, head]
        return act
    with torch.no_grad():
        return model.run_with_hooks(corrupted, fwd_hooks=[(f"blocks.{layer}.attn.{hook}", patch)])


def test_patch_head(submission, reference, trusted, device, shipped_model):
    model = shipped_model("induction", device)
    clean, wrong, pos, correct = setup(6, 2, 2, 6)
    corrupted = reference.corrupt_copied_token(clean, 6, 2, wrong)
    _, cache = trusted.run_with_cache(clean)
    for layer, head in [(0, 1), (1, 3), (1, 0)]:
        z = cache[f"blocks.{layer}.attn.hook_z"]
        call = f"patch_head(model, corrupted [2, 13], clean hook_z of layer {layer}, layer={layer}, head={head})"
        got = submission.patch_head(model, corrupted.to(device), z.to(device), layer, head)
        expected = reference.patch_head(trusted, corrupted, z, layer, head)
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and not torch.allclose(got.cpu(), expected, atol=1e-4):
            for hook in ("hook_v", "hook_q", "hook_k"):
                if torch.allclose(got.cpu(), wrong_hook_patch(trusted, corrupted, z, layer, head, hook), atol=1e-4):
                    fail(f"{call} wrote the clean z into blocks.{layer}.attn.{hook}: the wrong hook (same shape, but "
                         f"{hook[5:]} is an input of the attention, not the head's output). Patch blocks.{layer}.attn.hook_z")
        assert_close(got, expected, name=call + " (logits)", device=device, rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        assert_close(model(corrupted.to(device)), trusted(corrupted), name="model(corrupted) after patch_head (no hook "
                     "may stay on the model)", device=device, rtol=1e-4, atol=1e-4)


def sweep_args(seq_len=6, k=2, batch=4, seed=7):
    clean, wrong, pos, correct = setup(seq_len, k, batch, seed)
    return clean, clean.clone(), wrong, pos, correct


def test_residual_patching(submission, reference, trusted, device, shipped_model):
    model = shipped_model("induction", device)
    clean, _, wrong, pos, correct = sweep_args()
    corrupted = reference.corrupt_copied_token(clean, 6, 2, wrong)
    got = submission.residual_patching(model, clean.to(device), corrupted.to(device), pos, correct.to(device), wrong.to(device))
    expected = reference.residual_patching(trusted, clean, corrupted, pos, correct, wrong)
    assert_close(got, expected, name="residual_patching(model, clean [4, 13], corrupted, pos=9, correct, wrong) "
                 "([n_layers + 1, T], rows residual_hook_names)", device=device, rtol=1e-3, atol=1e-3, check_dtype=False)


def test_head_patching(submission, reference, trusted, device, shipped_model):
    model = shipped_model("induction", device)
    clean, _, wrong, pos, correct = sweep_args(seed=8)
    corrupted = reference.corrupt_copied_token(clean, 6, 2, wrong)
    got = submission.head_patching(model, clean.to(device), corrupted.to(device), pos, correct.to(device), wrong.to(device))
    expected = reference.head_patching(trusted, clean, corrupted, pos, correct, wrong)
    assert_close(got, expected, name="head_patching(model, clean [4, 13], corrupted, pos=9, correct, wrong) "
                 "([n_layers, n_heads])", device=device, rtol=1e-3, atol=1e-3, check_dtype=False)


def test_copying_is_restored_by_the_heads_that_carry_the_token(submission, record_figure, trusted, device, shipped_model):
    """With the learner's functions end to end on the shipped model (seq_len 12, k 6, 8 sequences)."""
    model = shipped_model("induction", device)
    seq_len, k = 12, 6
    clean, wrong, pos, correct = setup(seq_len, k, 8, 3)
    corrupted = submission.corrupt_copied_token(clean, seq_len, k, wrong)
    residual = submission.residual_patching(model, clean.to(device), corrupted, pos, correct.to(device), wrong.to(device))
    heads = submission.head_patching(model, clean.to(device), corrupted, pos, correct.to(device), wrong.to(device))
    record_figure("residual_patching", residual)
    record_figure("head_patching", heads)
    residual, heads = residual.float().cpu(), heads.float().cpu()
    where = 2 + k
    if not residual[0, where] > 0.9 or residual[0].abs().sum() - residual[0, where].abs() > 0.1:
        fail(f"patching the embeddings (blocks.0.hook_resid_pre) should restore the copying at the corrupted position "
             f"{where} alone (normalised 1.0), got {residual[0, where]:.3f} there and {residual[0].abs().sum():.3f} in all")
    if not residual[-1, pos] > 0.9:
        fail(f"after the last layer the answer sits at the query position {pos}: patching it there should restore "
             f"(nearly) everything, got {residual[-1, pos]:.3f}")
    ind = [tuple(h) for h in induction_heads()]
    prev = [tuple(h) for h in previous_token_heads()]
    carried = sum(float(heads[l, h]) for l, h in ind)
    if not carried > 0.5 or min(float(heads[l, h]) for l, h in ind) < 0.05:
        fail(f"patching each induction head {ind} should restore part of the copying (together well over half), got "
             f"{[round(float(heads[l, h]), 3) for l, h in ind]}")
    if max(abs(float(heads[l, h])) for l, h in prev) > 0.1:
        fail(f"the previous-token heads {prev} write the same thing in both runs here (the token before the corrupted one "
             f"did not change), so patching them should restore almost nothing; got {[round(float(heads[l, h]), 3) for l, h in prev]}")
