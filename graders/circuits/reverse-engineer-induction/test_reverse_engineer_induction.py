"""Grader for reverse-engineer-induction (the capstone), graded by outcome. The learner's
find_circuit runs in the worker on the chapter's shipped model (attn-only-circuits), on the second
shipped model (attn-only-circuits-3l: three layers, the previous-token head elsewhere), and on
variants built here: the chapter's model with its heads permuted within each layer (the same
computation, the circuit at other indices), and the TransformerLens chapter's model with one of its
two previous-token heads writing nothing (it still attends to the previous token, but composes with
nobody). The learner's model is turned into each variant through its own load_state_dict with a state
dict made on the trusted side; the facts are measured on the trusted side, on the same weights."""

import pytest
import torch

from mi_exercise.grading import fail
from mi_exercise.models.induction import induction_heads, load_shipped_model, previous_token_heads

KEYS = ("previous_token_heads", "induction_heads", "k_composition", "offsets")


def permuted(state: dict, n_heads: int, perms: dict[int, list[int]], silence: list[tuple[int, int]] = ()) -> dict:
    """A state dict with head j of layer L taking the weights of head perms[L][j] (the same function),
    then each (layer, new head) in silence writing nothing (its W_O columns zeroed)."""
    sd = {k: v.clone() for k, v in state.items()}
    for layer, perm in perms.items():
        d_head = sd[f"blocks.{layer}.attn.q.weight"].shape[0] // n_heads
        rows = torch.cat([torch.arange(p * d_head, (p + 1) * d_head) for p in perm])
        for name in "qkv":
            sd[f"blocks.{layer}.attn.{name}.weight"] = sd[f"blocks.{layer}.attn.{name}.weight"][rows]
            if f"blocks.{layer}.attn.{name}.bias" in sd:
                sd[f"blocks.{layer}.attn.{name}.bias"] = sd[f"blocks.{layer}.attn.{name}.bias"][rows]
        sd[f"blocks.{layer}.attn.o.weight"] = sd[f"blocks.{layer}.attn.o.weight"][:, rows]
    for layer, head in silence:
        d_head = sd[f"blocks.{layer}.attn.q.weight"].shape[0] // n_heads
        sd[f"blocks.{layer}.attn.o.weight"][:, head * d_head:(head + 1) * d_head] = 0.0
    return sd


def heads_set(value, what: str) -> set:
    if not isinstance(value, (list, tuple)):
        fail(f"find_circuit(model)[{what!r}] must be a list of [layer, head], got {type(value).__name__}")
    out = set()
    for h in value:
        if not (isinstance(h, (list, tuple)) and len(h) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in h)):
            fail(f"find_circuit(model)[{what!r}] must hold [layer, head] pairs of ints, got {h!r}")
        out.add((int(h[0]), int(h[1])))
    return out


def pairs_set(value) -> set:
    if not isinstance(value, (list, tuple)):
        fail(f"find_circuit(model)['k_composition'] must be a list of [[layer, head], [layer, head]], got {type(value).__name__}")
    out = set()
    for p in value:
        if not (isinstance(p, (list, tuple)) and len(p) == 2):
            fail(f"each k_composition entry must be [[layer, head], [layer, head]] (writer, reader), got {p!r}")
        (a,), (b,) = heads_set([p[0]], "k_composition"), heads_set([p[1]], "k_composition")
        out.add((a, b))
    return out


def parse(answer) -> dict:
    if not isinstance(answer, dict) or set(answer) != set(KEYS):
        got = sorted(answer) if isinstance(answer, dict) else type(answer).__name__
        fail(f"find_circuit(model) must return a dict with exactly the keys {list(KEYS)}, got {got}")
    offsets = answer["offsets"]
    if not isinstance(offsets, dict) or set(offsets) != {"previous_token", "induction"} or \
            not all(isinstance(v, int) and not isinstance(v, bool) for v in offsets.values()):
        fail(f"find_circuit(model)['offsets'] must be {{'previous_token': int, 'induction': int}}, got {offsets!r}")
    return {"previous_token_heads": heads_set(answer["previous_token_heads"], "previous_token_heads"),
            "induction_heads": heads_set(answer["induction_heads"], "induction_heads"),
            "k_composition": pairs_set(answer["k_composition"]), "offsets": dict(offsets)}


def names(heads) -> str:
    return ", ".join(f"{l}.{h}" for l, h in sorted(heads)) or "none"


def compare(got: dict, truth: dict, model_name: str) -> None:
    for key, what in [("previous_token_heads", "previous-token heads"), ("induction_heads", "induction heads")]:
        if got[key] != truth[key]:
            fail(f"on {model_name}, your {what} are {names(got[key])}; measured here: {names(truth[key])}. "
                 + ("Did you write down the shipped model's heads instead of measuring them? " if model_name != "the shipped model" else "")
                 + "Score every head on repeated tokens from its attention pattern")
    if got["k_composition"] != truth["k_composition"]:
        show = lambda s: ", ".join(f"{a[0]}.{a[1]} -> {b[0]}.{b[1]}" for a, b in sorted(s)) or "none"
        fail(f"on {model_name}, your K-composition pairs are {show(got['k_composition'])}; the (previous-token head, "
             f"induction head) pairs whose K-composition is above 1.5x a random baseline of the same shapes are "
             f"{show(truth['k_composition'])}. A head that attends to the previous token but writes nothing composes with nobody")
    for key, what in [("previous_token", "the previous-token heads' offset (key minus query)"),
                      ("induction", "the induction heads' offset (key minus the earlier occurrence of the query's token)")]:
        if got["offsets"][key] != truth["offsets"][key]:
            fail(f"on {model_name}, {what} is {truth['offsets'][key]}, you said {got['offsets'][key]}")


VARIANTS = {  # name in the messages: (shipped model, head permutation per layer, heads silenced after it)
    "the chapter's shipped model (attn-only-circuits)": ("attn-only-circuits", {}, []),
    "the second shipped model (attn-only-circuits-3l)": ("attn-only-circuits-3l", {}, []),
    "attn-only-circuits with its heads permuted (layer 0: [3, 1, 0, 2], layer 1: [2, 0, 3, 1])":
        ("attn-only-circuits", {0: [3, 1, 0, 2], 1: [2, 0, 3, 1]}, []),
    "attn-only-induction with its previous-token head 0.1 writing nothing (layer 0 permuted [2, 0, 3, 1])":
        ("attn-only-induction", {0: [2, 0, 3, 1]}, [(0, 1)]),
}


def truth_for(name, reference, sd, perms, silence) -> dict:
    """The facts, measured on the trusted side: the reference's measurement on the same weights, checked
    against the shipped config's heads moved by the permutation."""
    model = load_shipped_model(name)
    model.load_state_dict(sd)
    truth = parse(reference.find_circuit(model))
    inverse = {layer: {old: new for new, old in enumerate(perm)} for layer, perm in perms.items()}
    moved = lambda heads: {(l, inverse.get(l, {}).get(h, h)) for l, h in heads}
    assert truth["previous_token_heads"] == moved(previous_token_heads(name)), "grader: the reference misses a previous-token head"
    assert truth["induction_heads"] == moved(induction_heads(name)), "grader: the reference misses an induction head"
    assert all(a not in set(silence) for a, _ in truth["k_composition"]), "grader: a silenced head composes"
    return truth


@pytest.mark.parametrize("variant", list(VARIANTS), ids=["shipped", "second-shipped", "permuted", "silenced-head"])
def test_find_circuit(submission, reference, record_figure, device, variant, shipped_model):
    name, perms, silence = VARIANTS[variant]
    trusted = load_shipped_model(name)
    cfg = trusted.cfg
    sd = permuted(trusted.state_dict(), cfg.n_heads, perms, silence)
    truth = truth_for(name, reference, sd, perms, silence)
    # the worker loads the model with mi-exercise's own loader, whatever the learner's file imports
    model = shipped_model(name if name.startswith("attn-only-circuits") else "induction", device)
    if perms or silence:
        model.load_state_dict({k: v.to(device) for k, v in sd.items()})
    got = parse(submission.find_circuit(model))
    if name == "attn-only-circuits" and not perms:
        roles = [[0.0] * cfg.n_heads for _ in range(cfg.n_layers)]
        for l, h in got["previous_token_heads"]:
            if 0 <= l < cfg.n_layers and 0 <= h < cfg.n_heads:
                roles[l][h] = 1.0
        for l, h in got["induction_heads"]:
            if 0 <= l < cfg.n_layers and 0 <= h < cfg.n_heads:
                roles[l][h] = 2.0
        record_figure("roles", roles)
    compare(got, truth, variant)
