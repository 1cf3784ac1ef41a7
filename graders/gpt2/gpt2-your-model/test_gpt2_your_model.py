"""Grader for gpt2-your-model: the learner's whole GPT-2, built from their own earlier files
(own_parts: no reference part is injected), loads a trained model and writes text.

The logits are compared with the reference model holding the same weights; when they differ,
the learner's parts are run one by one on the reference's own intermediate values and the first
that differs is named with its exercise. Greedy text must equal the reference's; sampled text
must stay inside what top-k and top-p allow and follow its seed. With --model gpt2 the same runs
on GPT-2 small from the local Hugging Face cache (not run, with instructions, when it is absent).
"""

import functools
import sys

import pytest
import torch

from mi_exercise.grading import fail
from mi_exercise.models.gpt2_grading import one_thread  # noqa: F401 - autouse fixture
from mi_exercise.runner.outcomes import LearnerError

TOL = dict(rtol=1e-4, atol=2e-4)  # on the CPU; a GPU (TF32 matmuls) gets the gpt2-model grader's 2e-2


@pytest.fixture(autouse=True)
def device_tolerance(device):
    TOL["atol"] = 2e-4 if str(device) == "cpu" else 2e-2


@functools.lru_cache(maxsize=1)
def _tiny():
    from mi_exercise.models.gpt2_tiny import load_tiny

    return load_tiny()


def reference_model(reference, cfg, sd):
    model = reference.GPT2(cfg).eval()
    model.load_state_dict(sd)
    return model


def learner_model(submission, cfg, sd, what):
    if not submission.has("load_gpt2"):
        fail("your file defines no `load_gpt2`; keep the function names from the stub")
    model = submission.load_gpt2(dict(cfg), sd)
    if not hasattr(model, "get"):
        fail(f"load_gpt2(cfg, state_dict) should return your GPT2 model, got {type(model).__name__}")
    held = model.state_dict()
    if not isinstance(held, dict):
        fail("load_gpt2(cfg, state_dict).state_dict() did not return the model's weights")
    missing = [k for k in sd if k not in held]
    if missing:
        fail(f"the model load_gpt2 returns has no weights named {missing[:6]}; your parts must use GPT-2's "
             "parameter names (the earlier exercises' checks say which)")
    changed = [k for k in sd if not (isinstance(held[k], torch.Tensor) and held[k].shape == sd[k].shape
                                     and torch.equal(held[k].cpu(), sd[k]))]
    if changed:
        fail(f"the model load_gpt2(cfg, {what}'s weights) returns does not hold those weights ({changed[0]} differs, "
             f"and {len(changed) - 1} more): load them with model.load_state_dict(state_dict)")
    return model


def _part(module, path: str):
    """The learner's submodule at a dotted path (blocks.0.attn), or a failure naming what is missing."""
    for name in path.split("."):
        try:
            module = module.get(name)
        except LearnerError:
            fail(f"your GPT2 has no submodule `{path}` (stopped at `{name}`); keep the names from the stubs")
    return module


def first_wrong_part(model, ref, tokens) -> str | None:
    """Each of the learner's parts on the reference's own inputs; the first that differs, named."""
    def differs(path, actual, expected) -> bool:
        return not (isinstance(actual, torch.Tensor) and actual.shape == expected.shape
                    and torch.allclose(actual.cpu(), expected, **TOL))

    def named(path, what, slug):
        return (f"the first of your parts that differs from the reference on the same input is `{path}`, your "
                f"{what}: run `mi-exercise check {slug}`, whose grader says what is wrong there")

    with torch.no_grad():
        embed, pos = ref.embed(tokens), ref.pos_embed(tokens)
        if differs("embed", _part(model, "embed")(tokens), embed):
            return named("embed", "Embed (gpt2_embeddings.py)", "gpt2-embeddings")
        if differs("pos_embed", _part(model, "pos_embed")(tokens), pos):
            return named("pos_embed", "PosEmbed (gpt2_embeddings.py)", "gpt2-embeddings")
        x = embed + pos
        for i, block in enumerate(ref.blocks):
            h = block.ln1(x)
            if differs(f"blocks.{i}.ln1", _part(model, f"blocks.{i}.ln1")(x), h):
                return named(f"blocks.{i}.ln1", "LayerNorm (gpt2_config_and_layernorm.py)", "gpt2-config-and-layernorm")
            a = block.attn(h)
            if differs(f"blocks.{i}.attn", _part(model, f"blocks.{i}.attn")(h), a):
                return named(f"blocks.{i}.attn", "Attention (gpt2_attention.py)", "gpt2-attention")
            m = block.mlp(block.ln2(x + a))
            if differs(f"blocks.{i}.mlp", _part(model, f"blocks.{i}.mlp")(block.ln2(x + a)), m):
                return named(f"blocks.{i}.mlp", "MLP (gpt2_mlp_and_block.py)", "gpt2-mlp-and-block")
            out = block(x)
            if differs(f"blocks.{i}", _part(model, f"blocks.{i}")(x), out):
                return named(f"blocks.{i}", "TransformerBlock (gpt2_mlp_and_block.py)", "gpt2-mlp-and-block")
            x = out
        final = ref.ln_final(x)
        if differs("ln_final", _part(model, "ln_final")(x), final):
            return named("ln_final", "LayerNorm (gpt2_config_and_layernorm.py)", "gpt2-config-and-layernorm")
        if differs("unembed", _part(model, "unembed")(final), ref.unembed(final)):
            return named("unembed", "Unembed (gpt2_embeddings.py)", "gpt2-embeddings")
    return None


def model_problem(model, ref, tokens) -> str | None:
    """Why the learner's GPT-2 gives other logits than the reference on tokens, or None."""
    with torch.no_grad():
        expected = ref(tokens)
    actual = model(tokens)
    if isinstance(actual, torch.Tensor) and actual.shape == expected.shape and torch.allclose(actual.cpu(), expected, **TOL):
        return None
    part = first_wrong_part(model, ref, tokens)
    if part:
        return f"your GPT-2's logits differ from the reference's; {part}"
    return ("your GPT-2's logits differ from the reference's although each of your parts gives the reference's "
            "output on its own: GPT2.forward puts them together differently (run `mi-exercise check gpt2-model`)")


def check_logits(model, ref, tokens, label):
    problem = model_problem(model, ref, tokens)
    if problem:
        fail(f"{label}: {problem}")


def blame_model_first(model, ref, tokens: list[int], label: str) -> None:
    """A text test builds on the learner's model: when its logits are wrong, say that, not that
    generation is wrong."""
    problem = model_problem(model, ref, torch.tensor([tokens]))
    if problem:
        fail(f"{label}: this test uses your GPT-2, which is wrong here (see test_your_model_loads_the_tiny_gpt2): "
             f"{problem}")


def continued(submission, model, prompt: list[int], n: int, label: str, **kwargs) -> list[int]:
    out = submission.continue_tokens(model, prompt, n, **kwargs)
    if not isinstance(out, list) or not all(isinstance(t, int) for t in out):
        fail(f"{label} should return a list of Python ints (the token ids), got {type(out).__name__}")
    if len(out) != len(prompt) + n or out[:len(prompt)] != prompt:
        fail(f"{label} returned {len(out)} ids; expected the {len(prompt)} ids of the prompt followed by {n} new ones")
    return out


def test_your_model_loads_the_tiny_gpt2(submission, reference):
    cfg, sd, tok = _tiny()
    model = learner_model(submission, cfg, sd, "the shipped tiny GPT-2")
    ref = reference_model(reference, cfg, sd)
    rows = [tok.encode("the small cat sat on the warm mat . the dog"), tok.encode("a happy bird sang in the green tree all day")]
    tokens = torch.tensor([row[:10] for row in rows])
    check_logits(model, ref, tokens, f"your GPT2 with the tiny GPT-2's weights (tokens {list(tokens.shape)})")


def test_your_model_writes_greedy_text(submission, reference):
    cfg, sd, tok = _tiny()
    model = learner_model(submission, cfg, sd, "the shipped tiny GPT-2")
    ref = reference_model(reference, cfg, sd)
    for text in ("the small cat sat on the", "my old dog followed a"):
        prompt = tok.encode(text)
        label = f"continue_tokens(model, tokens of {text!r}, 12)"
        got = continued(submission, model, prompt, 12, label)
        expected = reference.generate(ref, torch.tensor([prompt]), 12, temperature=0.0)[0].tolist()
        if got != expected:
            blame_model_first(model, ref, expected, label)
            fail(f"{label} wrote\n    {tok.decode(got)!r}\nbut greedy decoding with the tiny GPT-2 writes\n    "
                 f"{tok.decode(expected)!r}\n(your GPT-2's logits are right: look at continue_tokens and your generate)")


def test_your_model_samples_text(submission, reference):
    cfg, sd, tok = _tiny()
    model = learner_model(submission, cfg, sd, "the shipped tiny GPT-2")
    ref = reference_model(reference, cfg, sd)
    prompt = tok.encode("the dog")
    kwargs = dict(temperature=1.2, top_k=6, top_p=0.95)
    sampling = sys.modules[reference.generate.__module__]  # the reference gpt2_sampling
    runs = {}
    for seed in (1, 2, 1):
        label = f"continue_tokens(model, tokens of 'the dog', 16, seed={seed}, temperature=1.2, top_k=6, top_p=0.95)"
        got = continued(submission, model, prompt, 16, label, seed=seed, **kwargs)
        with torch.no_grad():
            logits = ref(torch.tensor([got]))[0]
        for pos in range(len(prompt), len(got)):
            allowed = sampling.top_p_filter(sampling.top_k_filter(logits[pos - 1:pos] / 1.2, 6), 0.95)[0]
            if not torch.isfinite(allowed[got[pos]]):
                blame_model_first(model, ref, got, label)
                fail(f"{label} wrote {tok.decode(got)!r}: '{tok.vocab[got[pos]]}' at position {pos} is outside what "
                     "top_k=6 and top_p=0.95 allow; pass temperature, top_k and top_p on to your generate")
        if seed in runs and runs[seed] != got:
            fail(f"{label} gave other tokens on a second call with the same seed: pass the seed on to your generate")
        runs[seed] = got
    greedy = reference.generate(ref, torch.tensor([prompt]), 16, temperature=0.0)[0].tolist()
    if runs[1] == runs[2] == greedy:
        fail("continue_tokens(..., seed=1, temperature=1.2, ...) and seed=2 both wrote the greedy text "
             f"{tok.decode(greedy)!r}: pass seed, temperature, top_k and top_p on to your generate")


def test_your_model_with_gpt2_small(submission, reference, options):
    """--model gpt2: GPT-2 small's weights in the learner's model, greedy text equal to the reference's."""
    name = options.get("model")
    if not name:
        pytest.skip("GPT-2 small was not asked for: run `mi-exercise check gpt2-your-model --model gpt2` to load "
                    "its weights into your model (from your Hugging Face cache)")
    from mi_exercise.models.gpt2_pretrained import PretrainedUnavailable, load_pretrained

    try:
        cfg, sd, bridge = load_pretrained(name)
    except PretrainedUnavailable as exc:
        pytest.skip(f"--model {name}: not run, because {exc}")
    model = learner_model(submission, cfg, sd, name)
    ref = reference_model(reference, cfg, sd)
    if bridge.tokenizer is not None:
        prompt = bridge.tokenizer.encode("The quick brown fox jumps over the lazy dog because it")
    else:  # a checkpoint without a tokenizer: token ids are enough to compare
        prompt = torch.randint(0, cfg["d_vocab"], (12,), generator=torch.Generator().manual_seed(0)).tolist()
    check_logits(model, ref, torch.tensor([prompt]), f"your GPT2 with {name}'s weights (tokens [1, {len(prompt)}])")
    label = f"continue_tokens(model with {name}'s weights, a prompt of {len(prompt)} tokens, 8)"
    got = continued(submission, model, prompt, 8, label)
    expected = reference.generate(ref, torch.tensor([prompt]), 8, temperature=0.0)[0].tolist()
    if got != expected:
        blame_model_first(model, ref, expected, label)
        decode = bridge.tokenizer.decode if bridge.tokenizer is not None else str
        fail(f"{label} wrote\n    {decode(got)!r}\nbut greedy decoding with {name} writes\n    {decode(expected)!r}")
