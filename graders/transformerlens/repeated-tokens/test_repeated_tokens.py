"""Grader for repeated-tokens. Random tokens cannot be compared with a reference, so the
generated sequences are checked for their structure (BOS column, two equal halves, no BOS in
the body, every other id reachable, seeded); log-probabilities and the half losses are checked
against the reference on the shipped model's logits and on random logits; repeated_loss is
recomputed on the trusted model from the learner's own tokens."""

import pytest
import torch

from mi_exercise.grading import assert_close, fail, name_known_mistake
from mi_exercise.models.induction import bos_token, load_induction_model, repeated_tokens


@pytest.fixture(scope="module")
def trusted():
    return load_induction_model()


def check_structure(toks, seq_len, batch, d_vocab, bos, call):
    if not isinstance(toks, torch.Tensor):
        fail(f"{call} must return a tensor, got {type(toks).__name__}")
    if toks.dtype != torch.int64:
        fail(f"{call} must return int64 token ids, got {toks.dtype}")
    want = (batch, 1 + 2 * seq_len)
    if tuple(toks.shape) != want:
        hint = " (did you forget the BOS column in front?)" if tuple(toks.shape) == (batch, 2 * seq_len) else ""
        fail(f"{call} has shape {list(toks.shape)}, expected {list(want)}: [BOS] + seq + seq{hint}")
    if not torch.all(toks[:, 0] == bos):
        fail(f"{call}: column 0 must be the BOS token {bos} in every row, got {toks[:, 0].tolist()}")
    if not torch.equal(toks[:, 1 : 1 + seq_len], toks[:, 1 + seq_len :]):
        fail(f"{call}: the second copy (columns {1 + seq_len}..{2 * seq_len}) must equal the first (columns 1..{seq_len})")
    body = toks[:, 1:]
    if torch.any(body == bos):
        fail(f"{call}: the random tokens must not include the BOS id {bos}")
    if body.min() < 0 or body.max() >= d_vocab:
        fail(f"{call}: token ids must be in 0 .. {d_vocab - 1}, got {body.min().item()} .. {body.max().item()}")


def test_generate_repeated_tokens(submission):
    for seq_len, batch, seed, d_vocab, bos in [(1, 1, 0, 128, 0), (10, 3, 1, 128, 0), (25, 2, 7, 50, 0), (6, 4, 3, 10, 9)]:
        call = f"generate_repeated_tokens({seq_len}, batch={batch}, seed={seed}, d_vocab={d_vocab}, bos={bos})"
        toks = submission.generate_repeated_tokens(seq_len, batch=batch, seed=seed, d_vocab=d_vocab, bos=bos)
        check_structure(toks, seq_len, batch, d_vocab, bos, call)
        again = submission.generate_repeated_tokens(seq_len, batch=batch, seed=seed, d_vocab=d_vocab, bos=bos)
        if not torch.equal(toks, again):
            fail(f"{call} gave different tokens on a second call: seed a torch.Generator with `seed` and draw from it")
    a = submission.generate_repeated_tokens(20, batch=2, seed=1, d_vocab=128, bos=0)
    b = submission.generate_repeated_tokens(20, batch=2, seed=2, d_vocab=128, bos=0)
    if torch.equal(a, b):
        fail("generate_repeated_tokens gave the same tokens for seed=1 and seed=2")
    if torch.equal(a[0], a[1]):
        fail("generate_repeated_tokens gave the same sequence in every row of the batch")


def test_token_ids_cover_the_vocabulary(submission):
    """Every id other than BOS must be possible, wherever BOS sits."""
    for d_vocab, bos in [(6, 0), (6, 5), (6, 2)]:
        toks = submission.generate_repeated_tokens(200, batch=4, seed=0, d_vocab=d_vocab, bos=bos)
        check_structure(toks, 200, 4, d_vocab, bos, f"generate_repeated_tokens(200, batch=4, d_vocab={d_vocab}, bos={bos})")
        seen = set(toks[:, 1:].unique().tolist())
        missing = sorted(set(range(d_vocab)) - {bos} - seen)
        if missing:
            fail(f"generate_repeated_tokens(d_vocab={d_vocab}, bos={bos}) never produced the ids {missing} in 1600 draws: "
                 "draw from every id except BOS")


def test_next_token_log_probs(submission, reference, trusted, device):
    toks = repeated_tokens(7, batch=2, seed=4)
    with torch.no_grad():
        logits = trusted(toks)
    cases = [("the model's logits on [BOS] + seq + seq [2, 15]", logits, toks)]
    gen = torch.Generator().manual_seed(0)
    cases.append(("random logits [1, 2, 5]", torch.randn(1, 2, 5, generator=gen) * 3, torch.randint(0, 5, (1, 2), generator=gen)))
    big = torch.randn(3, 11, 9, generator=gen) * 3
    cases.append(("random logits [3, 6, 9] (a non-contiguous view)", big[:, ::2], torch.randint(0, 9, (3, 6), generator=gen)))
    for label, lg, tk in cases:
        got, expected = submission.next_token_log_probs(lg, tk), reference.next_token_log_probs(lg, tk)
        lsm = lg.log_softmax(-1)
        no_shift = ("the log-probabilities are not shifted: the logits at position t predict token t + 1, so score "
                    "tokens[:, 1:] with the logits [:, :-1] (you scored each token with the logits at its own position)")
        name_known_mistake(got, expected, [
            (lsm[:, :-1].gather(-1, tk[:, :-1, None])[..., 0], no_shift),
            (lsm[:, 1:].gather(-1, tk[:, 1:, None])[..., 0], no_shift),
            (lsm.gather(-1, tk[..., None])[..., 0], no_shift + f"; there are T - 1 = {tk.shape[1] - 1} predictions, not T"),
        ], name=f"next_token_log_probs({label})")
        assert_close(got, expected, name=f"next_token_log_probs({label})", device=device, rtol=1e-4, atol=1e-5)


def test_loss_by_half(submission, reference, trusted, device):
    gen = torch.Generator().manual_seed(3)
    cases = []
    for seq_len, batch in [(1, 1), (5, 3), (12, 2)]:
        lp = -torch.rand(batch, 2 * seq_len, generator=gen) * 5
        lp[:, seq_len:] /= 10  # the second half is much better predicted, as with copying
        cases.append((f"log_probs [{batch}, {2 * seq_len}], seq_len={seq_len}", lp, seq_len))
    toks = repeated_tokens(10, batch=2, seed=1)
    with torch.no_grad():
        lp = reference.next_token_log_probs(trusted(toks), toks)
    cases.append(("the model's log_probs on [BOS] + seq + seq, seq_len=10", lp, 10))
    for label, lp, seq_len in cases:
        got = submission.loss_by_half(lp, seq_len)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(f"loss_by_half must return a pair (first-half loss, second-half loss), got {got!r}")
        expected = reference.loss_by_half(lp, seq_len)
        off = [(reference._loss_by_half_at(lp, seq_len + d), d) for d in (-1, 1) if 0 <= seq_len + d <= lp.shape[1]]
        name_known_mistake([float(g) for g in got], list(expected), [
            (list(w), f"the halves are split one position {'late' if d > 0 else 'early'} (at {seq_len + d}, not "
                      f"{seq_len}). log_probs[:, i] scores token i + 1, so entries 0..{seq_len - 1} score the first "
                      f"copy's {seq_len} tokens and entries {seq_len}..{2 * seq_len - 1} the second copy's")
            for w, d in off], name=f"loss_by_half({label})")
        assert_close([float(g) for g in got], list(expected), name=f"loss_by_half({label})", rtol=1e-4, atol=1e-5)


@pytest.mark.uses(generate_repeated_tokens="test_generate_repeated_tokens", next_token_log_probs="test_next_token_log_probs", loss_by_half="test_loss_by_half")
def test_repeated_loss(submission, reference, trusted, device, shipped_model):
    model = shipped_model("induction", device)
    for seq_len, batch, seed in [(30, 1, 0), (25, 4, 3)]:
        call = f"repeated_loss(model, {seq_len}, batch={batch}, seed={seed})"
        got = submission.repeated_loss(model, seq_len, batch=batch, seed=seed)
        if not isinstance(got, (tuple, list)) or len(got) != 4:
            fail(f"{call} must return (tokens, log_probs, first_loss, second_loss)")
        toks, lp, first, second = got
        check_structure(toks, seq_len, batch, trusted.cfg.d_vocab, bos_token(), f"{call}[0] (tokens)")
        with torch.no_grad():
            expected_lp = reference.next_token_log_probs(trusted(toks), toks)
        assert_close(lp, expected_lp, name=f"{call}[1] (log_probs of the tokens it returned)", device=device,
                     rtol=1e-4, atol=1e-4)
        exp_first, exp_second = reference.loss_by_half(expected_lp, seq_len)
        assert_close([float(first), float(second)], [exp_first, exp_second], name=f"{call}[2:4] (half losses)",
                     rtol=1e-4, atol=1e-4)
        if not exp_second < 0.25 * exp_first:
            fail(f"{call}: the second copy's loss {exp_second:.2f} is not far below the first's {exp_first:.2f}; "
                 "are the tokens really [BOS] + seq + seq?")
