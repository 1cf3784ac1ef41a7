"""Grader for gpt2-sampling: greedy, temperature, top-k and top-p sampling, and a KV cache.

Greedy decoding and the two filters are compared exactly with the reference. Sampling is judged
by what it may and may not draw: thousands of seeded draws (one per row of a repeated logits row)
must never leave the allowed support (the k largest, the nucleus) and must match the reference
distribution within a few standard errors (5 sigma per token: a correct sampler fails with
probability below 1e-5, whichever way it draws). The KV cache runs on the shipped tiny GPT-2
(the learner's GPT2 from the stub, loaded with its weights) and must give the logits of the full
forward pass and the same generated tokens as running without it.
"""

import functools
import math

import pytest
import torch

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.gpt2_grading import build, load_weights, one_thread  # noqa: F401 - autouse fixture

N_DRAWS = 4000


def randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale


def token_result(value, batch: int, d_vocab: int, label: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        fail(f"{label} should return a tensor of token ids, got {type(value).__name__}")
    if value.shape != (batch,):
        fail(f"{label} returned shape {list(value.shape)}, expected [{batch}]: one token id per row "
             "(choose over the LAST dimension, the vocabulary)")
    if value.dtype != torch.int64:
        fail(f"{label} returned dtype {value.dtype}, expected torch.int64 token ids")
    if len(value) and (value.min() < 0 or value.max() >= d_vocab):
        fail(f"{label} returned token ids outside 0..{d_vocab - 1}")
    return value


def check_distribution(draws: torch.Tensor, expected: torch.Tensor, label: str, *, support_hint: str = "",
                       alternatives: dict | None = None) -> None:
    """draws [n] against the probabilities expected [d_vocab]: support first, then frequencies."""
    n = len(draws)
    freq = torch.bincount(draws, minlength=len(expected)).double() / n
    p = expected.double()
    outside = ((p == 0) & (freq > 0)).nonzero().flatten().tolist()
    if outside:
        fail(f"{label} drew token(s) {outside[:8]}, which must have probability 0 here. {support_hint}".strip())
    tol = 5 * torch.sqrt(p * (1 - p) / n) + 2.0 / n
    if ((freq - p).abs() <= tol).all():
        return
    for message, alt in (alternatives or {}).items():
        alt = alt.double()
        if ((freq - alt).abs() <= 5 * torch.sqrt(alt * (1 - alt) / n) + 2.0 / n).all():
            fail(f"{label}: {message}")
    worst = int(((freq - p).abs() / tol).argmax())
    fail(f"{label}: over {n} draws token {worst} came up with frequency {freq[worst]:.4f}, but its probability "
         f"is {p[worst]:.4f} (allowed: +-{tol[worst]:.4f}). Draw each row independently from "
         "softmax(filtered logits / temperature) with torch.multinomial")


def draw(submission, row: torch.Tensor, seed: int, label: str, n: int = N_DRAWS, **kwargs) -> torch.Tensor:
    """n independent draws from one logits row: sample() on the row repeated n times."""
    logits = row.unsqueeze(0).expand(n, -1)
    out = submission.sample(logits, seed, **kwargs)
    return token_result(out, n, len(row), label)


# -- greedy and the filters ------------------------------------------------------------------------


def test_greedy(submission, device):
    cases = [("logits [1, 7]", randn(0, 1, 7)),
             ("logits [4, 101]", randn(1, 4, 101, scale=3)),
             ("logits [6, 20] (a transposed view)", randn(2, 20, 6).t()),
             ("logits [3, 50] (all very negative)", randn(3, 3, 50) - 1e4)]
    for label, logits in cases:
        got = token_result(submission.greedy(logits), logits.shape[0], logits.shape[1], f"greedy({label})")
        assert_close(got, logits.argmax(dim=-1), name=f"greedy({label})", device=device)


def test_top_k_filter(submission, reference, device):
    cases = [("logits [2, 10], k=3", randn(10, 2, 10), 3),
             ("logits [1, 12], k=1", randn(11, 1, 12), 1),
             ("logits [3, 9], k=5 (a transposed view)", randn(12, 9, 3).t(), 5),
             ("logits [2, 6], k=6 (everything kept)", randn(13, 2, 6), 6),
             ("logits [2, 6], k=50 (more than d_vocab)", randn(14, 2, 6), 50)]
    for label, logits, k in cases:
        name = f"top_k_filter({label})"
        got = submission.top_k_filter(logits, k)
        expected = reference.top_k_filter(logits, k)
        if isinstance(got, torch.Tensor) and got.shape == logits.shape:
            kept = torch.isfinite(got).sum(dim=-1)
            want = min(k, logits.shape[-1])
            if (kept != want).any():
                fail(f"{name} kept {kept.tolist()} entries per row, expected {want}: exactly the k largest logits "
                     "stay (compare with the k-th largest value, logits.topk(k).values[..., -1:], using <, not <=)")
        assert_close(got, expected, name=name, device=device)


def test_top_p_filter(submission, reference, device):
    # p is never within 1e-3 of a cumulative probability of these rows, so rounding cannot decide
    cases = [("logits [2, 12], p=0.5", randn(20, 2, 12, scale=1.5), 0.5),
             ("logits [1, 8], p=0.9", randn(21, 1, 8), 0.9),
             ("logits [3, 10], p=0.05 (only the most likely token)", randn(22, 3, 10, scale=2), 0.05),
             ("logits [2, 7], p=0.75 (a transposed view)", randn(23, 7, 2, scale=2).t(), 0.75),
             ("logits [2, 6], p=1.0 (everything kept)", randn(24, 2, 6), 1.0)]
    for label, logits, p in cases:
        name = f"top_p_filter({label})"
        got = submission.top_p_filter(logits, p)
        expected = reference.top_p_filter(logits, p)
        if isinstance(got, torch.Tensor) and got.shape == logits.shape:
            kept = torch.isfinite(got).sum(dim=-1)
            want = torch.isfinite(expected).sum(dim=-1)
            if (kept == want - 1).all():
                fail(f"{name} kept {kept.tolist()} tokens per row, expected {want.tolist()}: the token whose "
                     "probability carries the running total past p belongs to the nucleus (keep a token while the "
                     "probability of the tokens ranked above it is still < p; the top token always stays)")
        assert_close(got, expected, name=name, device=device)


# -- sampling --------------------------------------------------------------------------------------


def test_sample_temperature(submission):
    row = randn(30, 8, scale=1.5)
    for i, t in enumerate((1.0, 0.5, 2.0)):
        label = f"sample(logits row of 8 repeated {N_DRAWS} times, seed={100 + i}, temperature={t})"
        draws = draw(submission, row, 100 + i, label, temperature=t)
        alternatives = {}
        if t != 1.0:
            alternatives["the temperature changed nothing: divide the LOGITS by the temperature before the softmax "
                         "(dividing the probabilities after it is undone when torch.multinomial normalises them)"] = \
                row.softmax(-1)
            alternatives[f"the draws follow softmax(logits * {t}): divide the logits by the temperature, "
                         "do not multiply"] = (row * t).softmax(-1)
        check_distribution(draws, (row / t).softmax(-1), label, alternatives=alternatives)


def test_sample_rows_are_independent(submission):
    """Two different rows in one batch: each row samples from its own distribution."""
    a, b = randn(31, 6, scale=2), randn(32, 6, scale=2)
    n = N_DRAWS // 2
    logits = torch.cat([a.expand(n, -1), b.expand(n, -1)])
    label = f"sample(logits [{2 * n}, 6]: row A repeated {n} times, then row B, seed=7)"
    draws = token_result(submission.sample(logits, 7), 2 * n, 6, label)
    check_distribution(draws[:n], a.softmax(-1), label + ", rows A")
    check_distribution(draws[n:], b.softmax(-1), label + ", rows B")
    if torch.equal(draws[:n], draws[:n].roll(1)):
        fail(f"{label}: every row got the same token; draw one sample per row (torch.multinomial(probs, 1))")


def test_temperature_zero_is_greedy(submission):
    logits = randn(40, 5, 30, scale=2)
    logits[torch.arange(5), logits.argmax(-1)] += 1.0  # a clear winner in each row
    best = logits.argmax(-1)
    for t in (0.0, 1e-3):
        label = f"sample(logits [5, 30], seed=0, temperature={t})"
        got = token_result(submission.sample(logits, 0, temperature=t), 5, 30, label)
        if not torch.equal(got, best):
            fail(f"{label} returned {got.tolist()}, but as the temperature goes to 0 sampling becomes greedy: "
                 f"expected the argmax of each row, {best.tolist()}" +
                 (" (handle temperature == 0 on its own: return greedy(logits))" if t == 0 else ""))


def test_sample_is_seeded(submission):
    logits = torch.zeros(300, 10)
    first = token_result(submission.sample(logits, 11), 300, 10, "sample(uniform logits [300, 10], seed=11)")
    again = submission.sample(logits, 11)
    if not torch.equal(first, again):
        fail("sample(logits, seed=11) gave different tokens on a second call with the same seed: build a "
             "torch.Generator(device=logits.device).manual_seed(seed) and pass generator= to torch.multinomial")
    other = submission.sample(logits, 12)
    if torch.equal(first, other):
        fail("sample(logits, seed=11) and sample(logits, seed=12) gave the same 300 tokens: use the seed")


def test_sample_top_k(submission):
    row = randn(50, 10, scale=1.5)
    for i, (k, t) in enumerate([(3, 1.0), (4, 0.7), (1, 1.0)]):
        label = f"sample(logits row of 10 repeated {N_DRAWS} times, seed={200 + i}, temperature={t}, top_k={k})"
        draws = draw(submission, row, 200 + i, label, temperature=t, top_k=k)
        expected = torch.full_like(row, float("-inf"))
        top = row.topk(k).indices
        expected[top] = row[top] / t
        ranks = {int(tok): r + 1 for r, tok in enumerate(row.argsort(descending=True))}
        bad = sorted({int(x) for x in draws.unique()} - set(top.tolist()), key=ranks.get)
        if bad:
            fail(f"{label} drew token {bad[0]}, ranked {ranks[bad[0]]} by its logit; only the {k} largest may be drawn")
        check_distribution(draws, expected.softmax(-1), label)


def test_sample_top_p(submission, reference):
    row = randn(60, 10, scale=1.5)
    for i, (p, t) in enumerate([(0.6, 1.0), (0.8, 1.5), (0.3, 0.5)]):
        label = f"sample(logits row of 10 repeated {N_DRAWS} times, seed={300 + i}, temperature={t}, top_p={p})"
        draws = draw(submission, row, 300 + i, label, temperature=t, top_p=p)
        filtered = reference.top_p_filter((row / t).unsqueeze(0), p)[0]
        expected = filtered.softmax(-1)
        never = [j for j in range(len(row)) if expected[j] > 0.05 and not (draws == j).any()]
        if never:
            fail(f"{label} never drew token {never[0]}, which is in the nucleus with probability "
                 f"{expected[never[0]]:.3f}: the token that carries the running total past p belongs to the nucleus")
        check_distribution(draws, expected, label,
                           support_hint="Only the nucleus may be drawn: the most likely tokens, in order, up to and "
                                        "including the one whose probability carries the total past p, computed "
                                        "from softmax(logits / temperature)")


# -- the KV cache, on the shipped tiny GPT-2 --------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _tiny():
    from mi_exercise.models.gpt2_tiny import load_tiny

    return load_tiny()


@pytest.fixture
def tiny(reference):
    cfg, sd, tokenizer = _tiny()
    model = reference.GPT2(cfg).eval()
    model.load_state_dict(sd)
    return cfg, sd, tokenizer, model


def learner_model(submission, cfg, sd):
    model = build(submission, "GPT2", cfg)
    load_weights(model, sd, "GPT2 (the shipped tiny model)")
    return model


def text_tokens(tokenizer, *texts: str) -> torch.Tensor:
    ids = [tokenizer.encode(t) for t in texts]
    n = min(len(i) for i in ids)
    return torch.tensor([i[:n] for i in ids])


def check_cache(cache, cfg, expected, label, device):
    n_layers = cfg["n_layers"]
    if not isinstance(cache, (list, tuple)) or len(cache) != n_layers:
        fail(f"{label}: the cache should be a list of {n_layers} (k, v) pairs, one per layer; got "
             f"{type(cache).__name__}" + (f" of length {len(cache)}" if isinstance(cache, (list, tuple)) else ""))
    for i, (pair, (k_ref, v_ref)) in enumerate(zip(cache, expected)):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            fail(f"{label}: cache[{i}] should be a pair (k, v)")
        for what, got, want in (("k", pair[0], k_ref), ("v", pair[1], v_ref)):
            assert_close(got, want, name=f"{label}: cache[{i}] {what} [batch, seq, n_heads, d_head]", device=device,
                         rtol=1e-4, atol=1e-4)


def _restart_variant(reference, cfg, sd, past, tokens, cache):
    """The logits a cache gives when the new tokens' positions restart at 0."""
    shifted = dict(sd)
    w = sd["pos_embed.W_pos"]
    shifted["pos_embed.W_pos"] = torch.cat([w[:past], w[: cfg["n_ctx"] - past]])
    model = reference.GPT2(cfg).eval()
    model.load_state_dict(shifted)
    return reference.forward_with_cache(model, tokens, cache)[0]


def test_cache_prompt(submission, reference, tiny, device):
    """forward_with_cache on a prompt with no cache: the logits of model(prompt) and its keys and values."""
    cfg, sd, tok, ref_model = tiny
    model = learner_model(submission, cfg, sd)
    prompt = text_tokens(tok, "the small cat sat on the warm mat .", "my old dog followed a fox near the river")
    label = f"forward_with_cache(model, prompt [{prompt.shape[0]}, {prompt.shape[1]}], None)"
    out = submission.forward_with_cache(model, prompt, None)
    if not isinstance(out, (list, tuple)) or len(out) != 2:
        fail(f"{label} should return a pair (logits, cache)")
    logits, cache = out
    ref_logits, ref_cache = reference.forward_with_cache(ref_model, prompt, None)
    assert_close(logits, ref_model(prompt).detach(), name=f"{label}: logits vs model(prompt)", device=device,
                 rtol=1e-4, atol=2e-4)
    check_cache(cache, cfg, ref_cache, label, device)


def test_cache_one_token_steps(submission, reference, tiny, device):
    """Prompt, then one token at a time: each step's logits equal the full forward pass at that position."""
    cfg, sd, tok, ref_model = tiny
    model = learner_model(submission, cfg, sd)
    tokens = text_tokens(tok, "a happy bird sang in the green tree all day .", "the king saw one brave horse by the road")
    start = 5
    full = ref_model(tokens).detach()
    _, cache = submission.forward_with_cache(model, tokens[:, :start], None)
    ref_cache = reference.forward_with_cache(ref_model, tokens[:, :start], None)[1]
    for pos in range(start, tokens.shape[1]):
        new = tokens[:, pos:pos + 1]
        label = f"forward_with_cache(model, the token at position {pos} [2, 1], cache of {pos} positions)"
        out = submission.forward_with_cache(model, new, cache)
        if not isinstance(out, (list, tuple)) or len(out) != 2:
            fail(f"{label} should return a pair (logits, cache)")
        logits, cache = out
        if isinstance(logits, torch.Tensor) and logits.shape == (2, 1, cfg["d_vocab"]) and \
                not torch.allclose(logits, full[:, pos:pos + 1], rtol=1e-4, atol=2e-4):
            restart = _restart_variant(reference, cfg, sd, pos, new, ref_cache)
            if torch.allclose(logits, restart, rtol=1e-3, atol=1e-3):
                fail(f"{label}: the new token got the positional embedding of position 0; with {pos} tokens "
                     f"in the cache it sits at position {pos}: use W_pos[past_seq : past_seq + new_seq]")
        assert_close(logits, full[:, pos:pos + 1], name=f"{label}: logits vs model(all tokens)[:, {pos}]",
                     device=device, rtol=1e-4, atol=2e-4)
        ref_cache = reference.forward_with_cache(ref_model, new, ref_cache)[1]
        check_cache(cache, cfg, ref_cache, label, device)


def test_cache_several_new_tokens(submission, tiny, device):
    """A chunk of several new tokens after a cache: the mask must still hide later tokens of the chunk."""
    cfg, sd, tok, ref_model = tiny
    model = learner_model(submission, cfg, sd)
    tokens = text_tokens(tok, "one clever fox ran , and then one clever fox ran again .",
                         "your tired teacher slept under the old table at night .")
    full = ref_model(tokens).detach()
    _, cache = submission.forward_with_cache(model, tokens[:, :4], None)
    for a, b in ((4, 7), (7, tokens.shape[1])):
        label = f"forward_with_cache(model, tokens {a}..{b - 1} [2, {b - a}], cache of {a} positions)"
        logits, cache = submission.forward_with_cache(model, tokens[:, a:b], cache)
        if isinstance(logits, torch.Tensor) and logits.shape == full[:, a:b].shape and \
                torch.allclose(logits[:, -1], full[:, b - 1], rtol=1e-4, atol=2e-4) and \
                not torch.allclose(logits, full[:, a:b], rtol=1e-4, atol=2e-4):
            fail(f"{label}: the last new token is right but earlier ones are not: they see the new tokens after "
                 f"them. New token i sits at position past_seq + i and may only see keys 0 .. past_seq + i: "
                 "the causal mask over [new_seq, past_seq + new_seq] is torch.triu(..., diagonal=past_seq + 1)")
        assert_close(logits, full[:, a:b], name=f"{label}: logits vs model(all tokens)[:, {a}:{b}]", device=device,
                     rtol=1e-4, atol=2e-4)


def cache_problem(submission, model, tiny) -> str | None:
    """Whether the learner's forward_with_cache gives the full forward pass's logits on a prompt and
    one more token; generate(use_cache=True) builds on it, so its tests name it when it is wrong."""
    cfg, _, tok, ref_model = tiny
    tokens = text_tokens(tok, "the small cat sat on the warm mat .", "a happy bird sang in the green tree")
    full = ref_model(tokens).detach()
    try:
        logits, cache = submission.forward_with_cache(model, tokens[:, :-1], None)
        step, _ = submission.forward_with_cache(model, tokens[:, -1:], cache)
    except Exception as exc:  # noqa: BLE001 - a raise or a value that is not a pair
        return f"it ends in {str(exc).splitlines()[0][:200]}"
    for what, got, want in (("on a prompt", logits, full[:, :-1]), ("on the token after a cache", step, full[:, -1:])):
        if not (isinstance(got, torch.Tensor) and got.shape == want.shape
                and torch.allclose(got.cpu(), want, rtol=1e-4, atol=2e-4)):
            return f"its logits {what} differ from the full forward pass's"
    return None


def uses_failed_part(label: str, part: str, why: str, test: str) -> None:
    fail(f"{label}: this test uses your {part}, which is wrong ({why}; see {test}), so it cannot judge the rest; "
         f"fix {part} first")


def filter_problem(submission, reference) -> str | None:
    """The first of the learner's filters that differs from the reference on the settings the
    sampled generate test uses (top_k=5, then top_p=0.9), or None."""
    row = randn(70, 3, 12, scale=2)
    for name, args in (("top_k_filter", (row, 5)), ("top_p_filter", (row, 0.9))):
        want = getattr(reference, name)(*args)
        try:
            got = getattr(submission, name)(*args)
        except Exception:  # noqa: BLE001 - its own test reports how it ends
            return name
        if not (isinstance(got, torch.Tensor) and got.shape == want.shape
                and torch.equal(torch.isfinite(got.cpu()), torch.isfinite(want))):
            return name
    return None


def test_generate_greedy(submission, reference, tiny, device):
    cfg, sd, tok, ref_model = tiny
    model = learner_model(submission, cfg, sd)
    prompt = text_tokens(tok, "the small cat sat on the", "a brave girl found my")
    expected = reference.generate(ref_model, prompt, 10, temperature=0.0, use_cache=False)
    for use_cache in (False, True):
        label = f"generate(model, prompt [2, {prompt.shape[1]}], 10, temperature=0.0, use_cache={use_cache})"
        got = submission.generate(model, prompt, 10, temperature=0.0, use_cache=use_cache)
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and not torch.equal(got, expected):
            if use_cache and (why := cache_problem(submission, model, tiny)):
                uses_failed_part(label, "forward_with_cache", why, "test_cache_one_token_steps")
            fail(f"{label} gave\n    {[tok.decode(r) for r in got]}\nbut greedy decoding gives\n    "
                 f"{[tok.decode(r) for r in expected]}" +
                 ("\n(with use_cache=True: feed only the new token each step, with the cache)" if use_cache else ""))
        assert_close(got, expected, name=label, device=device)


def test_generate_sampled_cache_matches(submission, reference, tiny):
    """Sampling with a cache gives the same tokens as without, and only tokens the filters allow."""
    cfg, sd, tok, ref_model = tiny
    model = learner_model(submission, cfg, sd)
    prompt = text_tokens(tok, "the dog", "my cat", "one fox")
    kwargs = dict(seed=3, temperature=0.8, top_k=5, top_p=0.9)
    runs = {}
    for use_cache in (False, True):
        label = f"generate(model, prompt [3, 2], 14, seed=3, temperature=0.8, top_k=5, top_p=0.9, use_cache={use_cache})"
        got = submission.generate(model, prompt, 14, use_cache=use_cache, **kwargs)
        if not isinstance(got, torch.Tensor) or got.shape != (3, 16):
            fail(f"{label} should return tokens [3, 16] (the prompt then 14 new tokens)")
        if not torch.equal(got[:, :2], prompt):
            fail(f"{label}: the result should start with the prompt")
        runs[use_cache] = got
        logits = ref_model(got).detach()
        for pos in range(2, 16):
            allowed = reference.top_p_filter(reference.top_k_filter(logits[:, pos - 1] / 0.8, 5), 0.9)
            ok = torch.isfinite(allowed.gather(-1, got[:, pos:pos + 1]))
            if not ok.all():
                # a wrong cache gives wrong logits to draw from: that is not top-k's or top-p's fault
                if use_cache and (why := cache_problem(submission, model, tiny)):
                    uses_failed_part(label, "forward_with_cache", why, "test_cache_one_token_steps")
                if (part := filter_problem(submission, reference)):
                    uses_failed_part(label, part, "it keeps other tokens than the reference's", f"test_{part}")
                row = int((~ok).nonzero()[0, 0])
                fail(f"{label}: row {row} drew '{tok.vocab[int(got[row, pos])]}' at position {pos}, which is "
                     "outside the tokens that top_k=5 and then top_p=0.9 allow (after dividing by the temperature)")
    if not torch.equal(runs[True], runs[False]):
        if (why := cache_problem(submission, model, tiny)):
            uses_failed_part("generate(..., use_cache=True)", "forward_with_cache", why, "test_cache_one_token_steps")
        fail("generate(..., seed=3, temperature=0.8, top_k=5, top_p=0.9) gave different tokens with and without the "
             f"cache:\n    use_cache=False: {[tok.decode(r) for r in runs[False]]}\n    use_cache=True:  "
             f"{[tok.decode(r) for r in runs[True]]}")
