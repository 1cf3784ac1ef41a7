"""Grader for logit-attribution. Head outputs are checked against the reference on random
tensors (batch 1, non-square heads, non-contiguous views) and against the cache: summed over
the heads plus b_O they must be the layer's attention output. The residual components are
checked one by one against TransformerLens's own decomposition (get_full_resid_decomposition)
and the reference, and must add up to the residual stream the final LayerNorm reads. The
attributions are checked against the reference on random inputs (a square W_U too, so an
unembedding read along the wrong axis runs and is named) and, on the shipped model, by the
identity they exist for: summed over the components plus the LayerNorm/unembedding biases they
are the model's logit of the correct next token. The summary must name the shipped model's
induction heads as the top components on the second copy."""

import pytest
import torch

from mi_exercise.grading import assert_close, fail
from mi_exercise.models.induction import induction_heads, load_induction_model, repeated_tokens


@pytest.fixture(scope="module")
def trusted():
    return load_induction_model()


def shape_of(x):
    return list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__


def random_tokens(seed: int, batch: int, pos: int, d_vocab: int) -> torch.Tensor:
    return torch.randint(1, d_vocab, (batch, pos), generator=torch.Generator().manual_seed(seed))


def frozen(t: torch.Tensor) -> torch.Tensor:
    return t.detach().clone()


def n_components(n_layers: int, n_heads: int) -> int:
    return 2 + n_layers * n_heads + 1


# ---------------------------------------------------------------------------------------------
# head_outputs


def test_head_outputs(submission, reference, trusted, device):
    gen = torch.Generator().manual_seed(0)
    cases = [
        ("z [1, 5, 4, 16]", torch.randn(1, 5, 4, 16, generator=gen), "W_O [4, 16, 64]", torch.randn(4, 16, 64, generator=gen)),
        # non-square heads, batch 3, z and W_O as non-contiguous views
        ("z [3, 7, 3, 5] (a transposed view)", torch.randn(3, 3, 7, 5, generator=gen).transpose(1, 2),
         "W_O [3, 5, 11] (a transposed view)", torch.randn(3, 11, 5, generator=gen).transpose(1, 2)),
    ]
    for z_name, z, w_name, W_O in cases:
        call = f"head_outputs({z_name}, {w_name})"
        got = submission.head_outputs(z, W_O)
        batch, pos, n_heads, _ = z.shape
        d_model = W_O.shape[-1]
        if isinstance(got, torch.Tensor) and list(got.shape) == [batch, pos, d_model]:
            fail(f"{call} returned {shape_of(got)}: the heads were summed together. Keep one output per head, "
                 f"[batch, pos, n_heads, d_model] = {[batch, pos, n_heads, d_model]}: attribution needs each head on its own")
        assert_close(got, reference.head_outputs(z, W_O), name=call, device=device, rtol=1e-4, atol=1e-5)
    # on the shipped model: the heads' outputs plus b_O are the layer's attention output
    toks = repeated_tokens(9, batch=2, seed=1)
    with torch.no_grad():
        _, cache = trusted.run_with_cache(toks)
    for layer in range(trusted.cfg.n_layers):
        z = cache[f"blocks.{layer}.attn.hook_z"]
        got = submission.head_outputs(z, frozen(trusted.W_O[layer]))
        if not isinstance(got, torch.Tensor) or got.ndim != 4:
            fail(f"head_outputs(cached blocks.{layer}.attn.hook_z {list(z.shape)}, model.W_O[{layer}]) must return "
                 f"[batch, pos, n_heads, d_model], got {shape_of(got)}")
        assert_close(got.sum(dim=2) + frozen(trusted.b_O[layer]), cache[f"blocks.{layer}.hook_attn_out"],
                     name=f"head_outputs(layer-{layer} hook_z, W_O[{layer}]).sum(heads) + b_O[{layer}] vs the cached "
                     f"blocks.{layer}.hook_attn_out", device=device, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# component_labels


def test_component_labels(submission, reference):
    for n_layers, n_heads in [(2, 4), (1, 3), (3, 2)]:
        got = submission.component_labels(n_layers, n_heads)
        expected = reference.component_labels(n_layers, n_heads)
        got = list(got) if isinstance(got, (list, tuple)) else got
        if got != expected:
            fail(f"component_labels({n_layers}, {n_heads}) returned {got!r}, expected {expected!r} "
                 "(embed, pos_embed, every head as 'layer.head' layer by layer, then bias)")


# ---------------------------------------------------------------------------------------------
# residual_components


def tl_decomposition(cache, labels: list[str]) -> torch.Tensor:
    """TransformerLens's own split of the final residual stream, reordered to our labels:
    [batch, pos, n_components, d_model]."""
    stack, tl_labels = cache.get_full_resid_decomposition(expand_neurons=False, return_labels=True)
    index = {}
    for i, name in enumerate(tl_labels):
        if name.startswith("L") and "H" in name:
            layer, head = name[1:].split("H")
            name = f"{layer}.{head}"
        index[name] = i
    return torch.stack([stack[index[label]] for label in labels], dim=2)


def test_residual_components(submission, reference, trusted, device, shipped_model):
    model = shipped_model("induction", device)
    cfg = trusted.cfg
    labels = reference.component_labels(cfg.n_layers, cfg.n_heads)
    n = n_components(cfg.n_layers, cfg.n_heads)
    for name, toks in [("[BOS]+seq+seq [1, 13]", repeated_tokens(6, batch=1, seed=0)),
                       ("[BOS]+seq+seq [3, 31]", repeated_tokens(15, batch=3, seed=1)),
                       ("random tokens [2, 19]", random_tokens(2, 2, 19, cfg.d_vocab))]:
        call = f"residual_components(model, tokens {name})"
        got = submission.residual_components(model, toks.to(device))
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(f"{call} must return (components, scale), got {type(got).__name__}")
        comps, scale = got
        batch, pos = toks.shape
        if not isinstance(comps, torch.Tensor) or list(comps.shape) != [batch, pos, n, cfg.d_model]:
            why = ""
            if isinstance(comps, torch.Tensor) and comps.ndim == 4:
                k = comps.shape[2]
                if k == n - 2:
                    why = ": the direct path (hook_embed and hook_pos_embed) is missing"
                elif k == 2 + cfg.n_layers + 1:
                    why = ": one component per layer; split each layer into its heads (head_outputs)"
                elif k == n - 1:
                    why = ": one component is missing (the bias, or one of the embeddings?)"
            fail(f"{call}[0] has shape {shape_of(comps)}, expected [batch, pos, n_components, d_model] = "
                 f"{[batch, pos, n, cfg.d_model]} with the components {labels}{why}")
        with torch.no_grad():
            _, cache = trusted.run_with_cache(toks)
        expected = tl_decomposition(cache, labels)
        for i, label in enumerate(labels):
            assert_close(comps[:, :, i], expected[:, :, i],
                         name=f"{call}[0][:, :, {i}], the component {label!r} (vs TransformerLens's "
                         f"cache.get_full_resid_decomposition)", device=device, rtol=1e-4, atol=1e-4)
        assert_close(comps.sum(dim=2), cache["ln_final.hook_in"],
                     name=f"{call}[0].sum(components) vs the residual stream the final LayerNorm reads (ln_final.hook_in)",
                     device=device, rtol=1e-4, atol=1e-4)
        assert_close(comps, reference.residual_components(trusted, toks)[0], name=f"{call}[0]", device=device,
                     rtol=1e-4, atol=1e-4)
        assert_close(scale, cache["ln_final.hook_scale"], name=f"{call}[1], the final LayerNorm's scale "
                     "(ln_final.hook_scale) [batch, pos, 1]", device=device, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# logit_attribution


def variant_attribution(components, scale, weight, W_U, tokens, *, current=False, centre=True, use_scale=True,
                        use_weight=True, rows=False):
    """The attribution computed with one named mistake (or none): used to say which one was made."""
    c = components[:, :-1]
    targets = tokens[:, :-1] if current else tokens[:, 1:]
    if centre:
        c = c - c.mean(dim=-1, keepdim=True)
    if use_scale:
        c = c / scale[:, :-1, None]
    if use_weight:
        c = c * weight
    directions = W_U[targets].permute(2, 0, 1) if rows else W_U[:, targets]
    return torch.einsum("bpcd,dbp->bpc", c, directions)


MISTAKES = [
    (dict(current=True), "it matches the attribution to the CURRENT token: position p must be scored on the logit "
     "of the next token, tokens[:, p + 1] (use tokens[:, 1:] with components[:, :-1])"),
    (dict(use_scale=False), "it matches the attribution without the final LayerNorm's scale: divide each centred "
     "component by the cached scale of its position (ln_final.hook_scale)"),
    (dict(centre=False), "it matches the attribution without centring: the final LayerNorm subtracts the mean over "
     "d_model, so subtract each component's own mean before dividing by the scale"),
    (dict(use_weight=False), "it matches the attribution without the LayerNorm's weight: multiply by ln_weight "
     "(model.ln_final.w) before the unembedding"),
    (dict(rows=True), "it matches W_U read along the wrong axis: W_U is [d_model, d_vocab], and the unembedding "
     "direction of token t is the column W_U[:, t], not the row W_U[t]"),
]


def diagnose_attribution(got, components, scale, weight, W_U, tokens, call):
    if not isinstance(got, torch.Tensor):
        fail(f"{call} must return a tensor, got {type(got).__name__}")
    batch, pos, n, d_model = components.shape
    if list(got.shape) != [batch, pos - 1, n]:
        extra = " (one row per position: position p predicts tokens[:, p + 1], so pos - 1 rows)" if got.ndim == 3 else ""
        fail(f"{call} returned shape {shape_of(got)}, expected [batch, pos - 1, n_components] = {[batch, pos - 1, n]}{extra}")
    correct = variant_attribution(components, scale, weight, W_U, tokens)
    got = got.float()
    if torch.allclose(got, correct, rtol=1e-3, atol=1e-4):
        return
    for kwargs, message in MISTAKES:
        if kwargs.get("rows") and W_U.shape[0] != W_U.shape[1]:
            continue
        if torch.allclose(got, variant_attribution(components, scale, weight, W_U, tokens, **kwargs), rtol=1e-3, atol=1e-4):
            fail(f"{call} is wrong: {message}")


def synthetic_case(seed: int, batch: int, pos: int, n: int, d_model: int, d_vocab: int, views: bool = False):
    gen = torch.Generator().manual_seed(seed)
    if views:
        components = torch.randn(batch, n, pos, d_model, generator=gen).transpose(1, 2)
        tokens = torch.randint(0, d_vocab, (batch, 2 * pos), generator=gen)[:, ::2]
    else:
        components = torch.randn(batch, pos, n, d_model, generator=gen)
        tokens = torch.randint(0, d_vocab, (batch, pos), generator=gen)
    components = components + 2 * torch.randn(batch, pos, n, 1, generator=gen)  # a mean to centre away
    scale = torch.rand(batch, pos, 1, generator=gen) * 2 + 0.5
    weight = torch.randn(d_model, generator=gen) * 0.5 + 1
    W_U = torch.randn(d_model, d_vocab, generator=gen)
    return components, scale, weight, W_U, tokens


def test_logit_attribution(submission, reference, device):
    for seed, (batch, pos, n, d_model, d_vocab, views) in enumerate([
        (2, 6, 5, 12, 12, False),   # square W_U: reading it along the wrong axis runs, and is named
        (1, 9, 11, 16, 40, False),  # batch 1
        (3, 5, 4, 8, 20, True),     # non-contiguous components and tokens
    ]):
        components, scale, weight, W_U, tokens = synthetic_case(seed, batch, pos, n, d_model, d_vocab, views)
        call = (f"logit_attribution(components {[batch, pos, n, d_model]}, scale {[batch, pos, 1]}, ln_weight "
                f"[{d_model}], W_U {[d_model, d_vocab]}, tokens {[batch, pos]})")
        got = submission.logit_attribution(components, scale, weight, W_U, tokens)
        diagnose_attribution(got, components, scale, weight, W_U, tokens, call)
        assert_close(got, reference.logit_attribution(components, scale, weight, W_U, tokens), name=call,
                     device=device, rtol=1e-4, atol=1e-4)


def test_attributions_add_up_to_the_logits(submission, reference, trusted, device):
    """The identity that makes it an attribution: sum over components + the constant terms = the logit."""
    cfg = trusted.cfg
    weight, W_U = frozen(trusted.ln_final.w), frozen(trusted.W_U)
    constant = frozen(trusted.ln_final.b @ trusted.W_U + trusted.b_U)  # [d_vocab]
    for name, toks in [("[BOS]+seq+seq [2, 25]", repeated_tokens(12, batch=2, seed=3)),
                       ("random tokens [1, 30]", random_tokens(4, 1, 30, cfg.d_vocab))]:
        components, scale = reference.residual_components(trusted, toks)
        with torch.no_grad():
            logits = trusted(toks)
        call = f"logit_attribution(the shipped model's components on {name}, ...)"
        got = submission.logit_attribution(components, scale, weight, W_U, toks)
        diagnose_attribution(got, components, scale, weight, W_U, toks, call)
        correct_logits = logits[:, :-1].gather(-1, toks[:, 1:, None])[..., 0]
        assert_close(got.sum(dim=-1) + constant[toks[:, 1:]], correct_logits,
                     name=f"{call}.sum(components) + (ln_final.b @ W_U + b_U)[next token] vs the model's logit of the "
                     "correct next token", device=device, rtol=1e-4, atol=1e-3)
        assert_close(got, reference.logit_attribution(components, scale, weight, W_U, toks), name=call,
                     device=device, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# attribution_by_half and top_components_on_repeat


def test_attribution_by_half(submission, reference, device):
    gen = torch.Generator().manual_seed(7)
    for batch, seq_len, n in [(1, 4, 11), (3, 9, 5)]:
        attribution = torch.randn(batch, 2 * seq_len, n, generator=gen)
        call = f"attribution_by_half(attribution {[batch, 2 * seq_len, n]}, seq_len={seq_len})"
        got = submission.attribution_by_half(attribution, seq_len)
        if not isinstance(got, torch.Tensor) or list(got.shape) != [2, n]:
            fail(f"{call} must return [2, n_components] = {[2, n]} (row 0 the first copy, row 1 the second), "
                 f"got {shape_of(got)}")
        expected = reference.attribution_by_half(attribution, seq_len)
        late = torch.stack([attribution[:, :seq_len + 1].mean(dim=(0, 1)), attribution[:, seq_len + 1:].mean(dim=(0, 1))])
        if torch.allclose(got, late, atol=1e-5):
            fail(f"{call} split the halves one position late. Attribution row p predicts token p + 1, so the "
                 f"second copy (tokens seq_len + 1 .. 2 * seq_len) is predicted by rows seq_len .. 2 * seq_len - 1: "
                 f"attribution[:, seq_len:]")
        if torch.allclose(got, expected.flip(0), atol=1e-5):
            fail(f"{call} has its rows swapped: row 0 is the first copy, row 1 the second")
        assert_close(got, expected, name=call, device=device, rtol=1e-4, atol=1e-5)


def test_top_components_on_repeat(submission, reference, trusted, device):
    gen = torch.Generator().manual_seed(11)
    cfg = trusted.cfg
    labels = reference.component_labels(cfg.n_layers, cfg.n_heads)
    for batch, seq_len, k in [(2, 5, 3), (1, 8, 1)]:
        attribution = torch.randn(batch, 2 * seq_len, len(labels), generator=gen)
        attribution[:, :seq_len] *= 3  # a first copy that would win if it were used
        call = f"top_components_on_repeat(attribution {[batch, 2 * seq_len, len(labels)]}, seq_len={seq_len}, labels, k={k})"
        got = submission.top_components_on_repeat(attribution, seq_len, labels, k)
        got = list(got) if isinstance(got, (list, tuple)) else got
        expected = reference.top_components_on_repeat(attribution, seq_len, labels, k)
        if got != expected:
            first = attribution[:, :seq_len].mean(dim=(0, 1)).topk(k).indices.tolist()
            if got == [labels[i] for i in first]:
                fail(f"{call} returned {got}, the top components over the FIRST copy; rank them by their mean "
                     f"attribution over the predictions of the second copy (attribution[:, seq_len:]). Expected {expected}")
            fail(f"{call} returned {got!r}, expected {expected!r} (the k largest mean attributions over the second "
                 "copy's predictions, largest first)")
    # on the shipped model, the induction heads write the correct next token on the second copy
    seq_len = 20
    toks = repeated_tokens(seq_len, batch=4, seed=5)
    components, scale = reference.residual_components(trusted, toks)
    attribution = reference.logit_attribution(components, scale, frozen(trusted.ln_final.w), frozen(trusted.W_U), toks)
    heads = sorted(f"{layer}.{head}" for layer, head in induction_heads())
    got = submission.top_components_on_repeat(attribution, seq_len, labels, len(heads))
    got = list(got) if isinstance(got, (list, tuple)) else got
    if not isinstance(got, list) or sorted(got) != heads:
        fail(f"top_components_on_repeat(the shipped model's attribution on [BOS]+seq+seq [4, {1 + 2 * seq_len}], "
             f"seq_len={seq_len}, labels, k={len(heads)}) returned {got!r}; the shipped model's induction heads "
             f"{heads} write the next token on the second copy")
