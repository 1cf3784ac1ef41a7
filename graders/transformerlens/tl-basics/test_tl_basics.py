"""Grader for tl-basics. The learner's model must compute what the shipped model computes; the
cache reads must return exactly the cached tensors; the recomputed pattern must match the
cache on real queries and keys and the reference on random ones (batch 1, non-square
heads, a non-contiguous view)."""

import pytest
import torch

from mi_exercise.grading import assert_close, fail, name_known_mistake
from mi_exercise.models.induction import load_induction_model, repeated_tokens


@pytest.fixture(scope="module")
def trusted():
    return load_induction_model()


def tokens_for(seed: int, batch: int, pos: int, d_vocab: int) -> torch.Tensor:
    return torch.randint(1, d_vocab, (batch, pos), generator=torch.Generator().manual_seed(seed))


def learner_model(submission, device):
    model = submission.load_model(device)
    if not hasattr(model, "get"):
        fail(f"load_model must return the model object (a TransformerBridge), got {type(model).__name__}")
    return model


def test_load_model(submission, trusted, device):
    model = learner_model(submission, device)
    for seed, (batch, pos) in enumerate([(1, 5), (3, 21)]):
        toks = tokens_for(seed, batch, pos, trusted.cfg.d_vocab)
        with torch.no_grad():
            expected = trusted(toks)
        got = model(toks.to(device))
        assert_close(got, expected, name=f"load_model()(tokens [{batch}, {pos}]) logits", device=device,
                     rtol=1e-4, atol=1e-4)


def test_model_shape(submission, reference, trusted, device):
    model = learner_model(submission, device)
    got = submission.model_shape(model)
    expected = reference.model_shape(trusted)
    if not isinstance(got, dict):
        fail(f"model_shape must return a dict, got {type(got).__name__}")
    for key, value in expected.items():
        if key not in got:
            fail(f"model_shape(model) has no key {key!r}; expected keys {sorted(expected)}")
        if got[key] != value:
            fail(f"model_shape(model)[{key!r}] is {got[key]!r}, expected {value} (read it from model.cfg.{key})")


def test_attention_pattern(submission, reference, trusted, device):
    model = learner_model(submission, device)
    for layer in range(trusted.cfg.n_layers):
        for seed, toks in enumerate([repeated_tokens(7, batch=2, seed=layer), tokens_for(5 + layer, 1, 13, trusted.cfg.d_vocab)]):
            expected = reference.attention_pattern(trusted, toks, layer)
            got = submission.attention_pattern(model, toks.to(device), layer)
            assert_close(got, expected, name=f"attention_pattern(model, tokens {list(toks.shape)}, layer={layer})",
                         device=device, rtol=1e-4, atol=1e-5)


def test_cached_qk(submission, reference, trusted, device):
    model = learner_model(submission, device)
    toks = repeated_tokens(6, batch=2, seed=9)
    for layer in range(trusted.cfg.n_layers):
        eq, ek = reference.cached_qk(trusted, toks, layer)
        got = submission.cached_qk(model, toks.to(device), layer)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail("cached_qk must return a pair (q, k)")
        assert_close(got[0], eq, name=f"cached_qk(model, tokens, layer={layer})[0] (queries)", device=device, rtol=1e-4, atol=1e-5)
        assert_close(got[1], ek, name=f"cached_qk(model, tokens, layer={layer})[1] (keys)", device=device, rtol=1e-4, atol=1e-5)


def scaled_pattern(q: torch.Tensor, k: torch.Tensor, divide_by: float) -> torch.Tensor:
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / divide_by
    mask = torch.triu(torch.ones(q.shape[1], k.shape[1], dtype=torch.bool), diagonal=1)
    return scores.masked_fill(mask, float("-inf")).softmax(dim=-1)


def name_scale_mistakes(got, expected, q, k, call: str) -> None:
    d = q.shape[-1]
    name_known_mistake(got, expected, [
        (scaled_pattern(q, k, d), f"the scores are divided by d_head = {d}; divide by sqrt(d_head) = {d ** 0.5:.4g} "
                                  "(math.sqrt(q.shape[-1]))"),
        (scaled_pattern(q, k, 1.0), "the scores are not scaled: divide q . k by sqrt(d_head) before the softmax"),
    ], name=call)


def test_pattern_from_qk_matches_cache(submission, trusted, device):
    """Recompute every layer's pattern from the cache's own q and k: it must equal the cached pattern."""
    toks = repeated_tokens(9, batch=3, seed=2)
    _, cache = trusted.run_with_cache(toks)
    for layer in range(trusted.cfg.n_layers):
        q, k = cache[f"blocks.{layer}.attn.hook_q"], cache[f"blocks.{layer}.attn.hook_k"]
        got = submission.pattern_from_qk(q, k)
        name_scale_mistakes(got, cache[f"blocks.{layer}.attn.hook_pattern"], q, k, f"pattern_from_qk(cached q, k of layer {layer})")
        assert_close(got, cache[f"blocks.{layer}.attn.hook_pattern"],
                     name=f"pattern_from_qk(cached q, k of layer {layer}) vs the cached pattern",
                     device=device, rtol=1e-4, atol=1e-5)


def test_pattern_from_qk_random(submission, reference, device):
    gen = torch.Generator().manual_seed(0)
    cases = [
        ("q, k [1, 1, 1, 4]", torch.randn(1, 1, 1, 4, generator=gen), torch.randn(1, 1, 1, 4, generator=gen)),
        ("q, k [2, 6, 3, 8]", torch.randn(2, 6, 3, 8, generator=gen), torch.randn(2, 6, 3, 8, generator=gen)),
        ("q, k [1, 9, 2, 5] (non-contiguous views)", torch.randn(1, 2, 9, 5, generator=gen).transpose(1, 2),
         torch.randn(1, 2, 9, 5, generator=gen).transpose(1, 2)),
    ]
    for label, q, k in cases:
        q, k = q * 3, k * 3  # large scores: a missing scale or mask shows
        got, expected = submission.pattern_from_qk(q, k), reference.pattern_from_qk(q, k)
        name_scale_mistakes(got, expected, q, k, f"pattern_from_qk({label})")
        assert_close(got, expected, name=f"pattern_from_qk({label})", device=device, rtol=1e-4, atol=1e-5)


def test_pattern_is_causal(submission, device):
    q = torch.randn(2, 7, 2, 4, generator=torch.Generator().manual_seed(5)) * 4
    got = submission.pattern_from_qk(q, q.clone())
    if not isinstance(got, torch.Tensor) or got.shape != (2, 2, 7, 7):
        fail(f"pattern_from_qk(q [2, 7, 2, 4], k) must be [2, 2, 7, 7] (batch, heads, query_pos, key_pos)")
    above = got.triu(1)
    if above.abs().max() > 1e-6:
        fail("pattern_from_qk lets a query attend to a later key (there is weight above the diagonal): "
             "mask keys at positions > the query position before the softmax")
    rows = got.sum(-1)
    if (rows - 1).abs().max() > 1e-4:
        fail("each row of the pattern (one query) must sum to 1 over the key positions: softmax over the last axis")


def test_most_attended_position(submission, reference, trusted, device):
    toks = repeated_tokens(8, batch=2, seed=4)
    _, cache = trusted.run_with_cache(toks)
    for layer in range(trusted.cfg.n_layers):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"]
        assert_close(submission.most_attended_position(pattern), reference.most_attended_position(pattern),
                     name=f"most_attended_position(layer {layer} pattern [2, 4, 17, 17])", device=device)
    pattern = torch.softmax(torch.randn(1, 3, 5, 6, generator=torch.Generator().manual_seed(1)), -1)
    assert_close(submission.most_attended_position(pattern), reference.most_attended_position(pattern),
                 name="most_attended_position(pattern [1, 3, 5, 6])", device=device)
    # ties go to the lowest key position (what torch.argmax returns), as the page says
    tied = torch.tril(torch.ones(1, 1, 4, 4))
    tied = tied / tied.sum(-1, keepdim=True)  # query q attends equally to keys 0..q
    tied[0, 0, 3] = torch.tensor([0.1, 0.4, 0.1, 0.4])
    expected = torch.tensor([[[0, 0, 0, 1]]])
    assert_close(submission.most_attended_position(tied), expected,
                 name="most_attended_position(a pattern with ties: uniform rows, and keys 1 and 3 equal in the last "
                      "row; a tie goes to the lowest key position)", device=device)
