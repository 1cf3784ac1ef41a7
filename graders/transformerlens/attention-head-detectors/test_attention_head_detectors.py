"""Grader for attention-head-detectors. Scores are checked against the reference on the shipped
model's real patterns and on synthetic patterns built so that each kind of mistake shows
(a head that attends only to itself, only to the previous token, only to BOS); the
previous-token score is also checked against TransformerLens's own head detector, and
detect_heads must find the shipped model's known previous-token heads. End to end on a trained
model (the shipped one, or GPT-2 small with `--model gpt2`), the learner's code must find that
model's known previous-token heads."""

import pytest
import torch
from transformer_lens.head_detector import (
    compute_head_attention_similarity_score,
    get_previous_token_head_detection_pattern,
)

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.induction import (
    GPT2_PREVIOUS_TOKEN_HEADS,
    load_induction_model,
    previous_token_heads,
    repeated_tokens,
)
from mi_exercise.models.induction_grading import (
    GPT2_LABEL,
    as_heads,
    bos_and_random_tokens,
    heads_text,
    shipped_gpt2_or_skip,
    trusted_gpt2_or_skip,
)
from mi_exercise.runner.outcomes import LearnerError

SCORERS = ["current_token_scores", "previous_token_scores", "first_token_scores"]


@pytest.fixture(scope="module")
def trusted():
    return load_induction_model()


def random_pattern(seed: int, batch: int, heads: int, pos: int) -> torch.Tensor:
    scores = torch.randn(batch, heads, pos, pos, generator=torch.Generator().manual_seed(seed)) * 2
    mask = torch.triu(torch.ones(pos, pos, dtype=torch.bool), diagonal=1)
    return scores.masked_fill(mask, float("-inf")).softmax(-1)


def pure_heads(pos: int) -> torch.Tensor:
    """[1, 3, pos, pos]: head 0 attends to itself, head 1 to the previous token, head 2 to BOS
    (query 0 can only attend to itself in all three)."""
    p = torch.zeros(1, 3, pos, pos)
    p[0, 0] = torch.eye(pos)
    p[0, 1, 0, 0] = 1
    p[0, 1, torch.arange(1, pos), torch.arange(pos - 1)] = 1
    p[0, 2, :, 0] = 1
    return p


def patterns(trusted):
    toks = repeated_tokens(8, batch=2, seed=3)
    _, cache = trusted.run_with_cache(toks)
    for layer in range(trusted.cfg.n_layers):
        yield f"the model's layer-{layer} pattern [2, 4, 17, 17]", cache[f"blocks.{layer}.attn.hook_pattern"]
    yield "pattern [1, 1, 2, 2]", random_pattern(0, 1, 1, 2)
    yield "pattern [3, 2, 9, 9]", random_pattern(1, 3, 2, 9)
    yield "pattern [2, 5, 6, 6] (non-contiguous view)", random_pattern(2, 2, 10, 6)[:, ::2]
    yield "pure heads [1, 3, 7, 7] (self / previous / BOS)", pure_heads(7)


def check_scorer(submission, reference, trusted, device, fn):
    for label, p in patterns(trusted):
        assert_close(getattr(submission, fn)(p), getattr(reference, fn)(p), name=f"{fn}({label})",
                     device=device, rtol=1e-4, atol=1e-5)


def test_current_token_scores(submission, reference, trusted, device):
    got = submission.current_token_scores(pure_heads(7))
    if isinstance(got, torch.Tensor) and got.shape == (3,) and abs(float(got[2]) - 1 / 6) > 1e-3 and abs(float(got[2]) - 1 / 7) < 1e-3:
        fail("current_token_scores counts query 0 (which can only attend to itself): a head that always "
             "attends to BOS must score 0, so average over queries 1 .. pos-1")
    check_scorer(submission, reference, trusted, device, "current_token_scores")


def test_previous_token_scores(submission, reference, trusted, device):
    got = submission.previous_token_scores(pure_heads(7))
    if isinstance(got, torch.Tensor) and got.shape == (3,) and float(got[1]) < 0.5:
        fail(f"a head that always attends to the previous token scored {float(got[1]):.3f} in previous_token_scores; "
             "expected 1. The previous token of query i is key i - 1: the diagonal just below the main one")
    check_scorer(submission, reference, trusted, device, "previous_token_scores")


def test_previous_token_matches_transformerlens(submission, trusted, device):
    """TransformerLens's detector (error_measure="mul") averages over every query, query 0 included:
    its score is ours times (pos - 1) / pos."""
    for seed, pos in [(0, 12), (1, 30)]:
        toks = torch.randint(1, trusted.cfg.d_vocab, (1, pos), generator=torch.Generator().manual_seed(seed))
        _, cache = trusted.run_with_cache(toks)
        detection = get_previous_token_head_detection_pattern(toks)
        for layer in range(trusted.cfg.n_layers):
            pattern = cache[f"blocks.{layer}.attn.hook_pattern"]
            tl = torch.tensor([compute_head_attention_similarity_score(
                pattern[0, h], detection, exclude_bos=False, exclude_current_token=False, error_measure="mul")
                for h in range(trusted.cfg.n_heads)])
            got = submission.previous_token_scores(pattern)
            assert_close(got * (pos - 1) / pos, tl, name=f"previous_token_scores(layer {layer}, pos {pos}) * (pos-1)/pos "
                         "vs TransformerLens's detect_head score", device=device, rtol=1e-3, atol=1e-4)


def test_first_token_scores(submission, reference, trusted, device):
    got = submission.first_token_scores(pure_heads(7))
    if isinstance(got, torch.Tensor) and got.shape == (3,) and float(got[2]) < 0.5:
        fail(f"a head that always attends to BOS scored {float(got[2]):.3f} in first_token_scores; expected 1. "
             "The first token is key position 0 (column 0 of the pattern), for every query")
    check_scorer(submission, reference, trusted, device, "first_token_scores")


@pytest.mark.uses(current_token_scores="test_current_token_scores", previous_token_scores="test_previous_token_scores", first_token_scores="test_first_token_scores")
def test_detect_heads(submission, reference, trusted, device, shipped_model):
    model = shipped_model("induction", device)
    cases = [(repeated_tokens(12, batch=2, seed=1), 0.4), (repeated_tokens(20, batch=1, seed=2), 0.3),
             (torch.randint(1, trusted.cfg.d_vocab, (2, 25), generator=torch.Generator().manual_seed(0)), 0.5)]
    for toks, threshold in cases:
        for kind in ["current", "previous", "first"]:
            expected = reference.detect_heads(trusted, toks, kind, threshold)
            got = submission.detect_heads(model, toks.to(device), kind, threshold)
            got = [list(h) for h in got] if isinstance(got, (list, tuple)) else got
            if got != expected:
                fail(f"detect_heads(model, tokens {list(toks.shape)}, {kind!r}, threshold={threshold}) returned {got}, "
                     f"expected {expected} ([layer, head] pairs, sorted by layer then head)")
    known = [list(h) for h in previous_token_heads()]
    got = submission.detect_heads(model, repeated_tokens(15, batch=2, seed=5).to(device), "previous", 0.4)
    missing = [h for h in known if h not in [list(x) for x in got]]
    if missing:
        fail(f"detect_heads(..., 'previous', 0.4) missed the model's known previous-token heads {missing}")


def test_detect_heads_rejects_unknown_kind(submission, device, shipped_model):
    model = shipped_model("induction", device)
    toks = repeated_tokens(5, batch=1, seed=0).to(device)
    try:
        got = submission.detect_heads(model, toks, "induction", 0.4)
    except LearnerError as exc:
        if "ValueError" not in str(exc):
            fail(f"detect_heads with an unknown kind should raise ValueError, it raised: {str(exc).splitlines()[0]}")
        return
    fail(f"detect_heads(model, tokens, 'induction') returned {got!r}; an unknown kind must raise ValueError")


@pytest.mark.uses(previous_token_scores="test_previous_token_scores", detect_heads="test_detect_heads")
def test_known_previous_token_heads_of_a_trained_model(submission, reference, trusted, device, options, shipped_model):
    """End to end on a trained model, on BOS + random tokens: your previous-token scores of its cached
    patterns equal the reference's, and detect_heads(model, tokens, "previous", 0.4) run in the
    worker finds the heads the reference finds, its known previous-token heads among them. The
    shipped model by default; GPT-2 small with `mi-exercise check attention-head-detectors --model
    gpt2`, whose previous-token head 4.11 the literature names (Wang et al. 2022, the IOI circuit)."""
    name = options.get("model")
    if name and name != "gpt2":
        pytest.skip(f"--model {name}: this exercise knows the previous-token heads of GPT-2 small only; use --model gpt2")
    if name == "gpt2":
        ref_model = trusted_gpt2_or_skip()
        label, known, length = GPT2_LABEL, [list(h) for h in GPT2_PREVIOUS_TOKEN_HEADS], 60
        atol = 1e-4 if str(device) == "cpu" else 1e-3
    else:
        ref_model, label, known, length = trusted, "the shipped model", sorted(list(h) for h in previous_token_heads()), 40
        atol = 1e-5
    toks = bos_and_random_tokens(ref_model, batch=2, length=length, seed=31)
    threshold = 0.4
    # 1. from the trusted side's cache: only tensors cross to your code
    with torch.no_grad():
        _, cache = ref_model.run_with_cache(toks)
    scores = []
    for layer in range(ref_model.cfg.n_layers):
        p = cache[f"blocks.{layer}.attn.hook_pattern"].float()
        expected = reference.previous_token_scores(p)
        assert_close(submission.previous_token_scores(p), expected,
                     name=f"previous_token_scores({label}'s layer-{layer} pattern {list(p.shape)})",
                     device=device, rtol=1e-4, atol=atol)
        scores.append(expected)
    del cache
    scores = torch.stack(scores)
    # 2. detect_heads in the worker, on the model loaded there
    model = shipped_gpt2_or_skip(shipped_model, device) if name == "gpt2" else shipped_model("induction", device)
    call = f"detect_heads({label}, tokens {list(toks.shape)}, 'previous', {threshold})"
    got = submission.detect_heads(model, toks.to(device), "previous", threshold)
    heads = as_heads(got)
    if heads is None:
        fail(f"{call} must return [[layer, head], ...] of ints, got {got!r}")
    expected_heads = reference.detect_heads(ref_model, toks, "previous", threshold)
    # a head scored within 0.01 of the threshold may fall on either side on another device
    borderline = [[l, h] for l, h in (abs(scores - threshold) < 0.01).nonzero().tolist()]
    if [h for h in heads if h not in borderline] != [h for h in expected_heads if h not in borderline]:
        fail(f"{call} returned {heads_text(heads)}, expected {heads_text(expected_heads)} (heads with a previous-token "
             f"score above {threshold})")
    missing = [h for h in known if h not in heads]
    if missing:
        listed = ", ".join(f"{l}.{h} scores {float(scores[l, h]):.2f}" for l, h in missing)
        if name == "gpt2":
            fail(f"On the model loaded as GPT-2 small, GPT-2 small's known previous-token head(s) "
                 f"{heads_text(GPT2_PREVIOUS_TOKEN_HEADS)} were not found: {listed} (the reference code scores them the "
                 "same). These weights do not behave like GPT-2 small's: check what the Hugging Face cache holds as 'gpt2'.")
        fail(f"{call} missed the shipped model's known previous-token heads {heads_text(missing)} ({listed})")
