"""The small attention-only model with induction heads that the project trains and ships.

``scripts/train_induction_model.py`` trains it (2 layers, 4 heads each, d_model 64, no MLPs,
vocabulary of 128 tokens, token 0 = BOS) on random tokens with repeated spans, and writes
``weights/attn-only-induction/model.safetensors`` and ``config.json`` next to this file. The
config records which heads are induction heads and which are previous-token heads.

    from mi_exercise.models.induction import load_induction_model, repeated_tokens
    model = load_induction_model()                 # a TransformerLens 4 TransformerBridge
    tokens = repeated_tokens(seq_len=20, batch=4)  # [4, 41]: [BOS] + seq + seq
    logits, cache = model.run_with_cache(tokens)
    cache["blocks.1.attn.hook_pattern"]            # [4, n_heads, 41, 41]

The circuits chapter's models (attn-only-circuits, 2 layers, and attn-only-circuits-3l, 3 layers;
n_ctx 96) load the same way: ``load_circuits_model()`` or ``load_shipped_model(name)``.

Nothing here touches the network.
"""

from __future__ import annotations

import os

import torch

from mi_exercise.models.induction_files import (  # noqa: F401 - part of this module's interface
    CONFIG_FILE,
    DEFAULT_MODEL,
    SHIPPED_MODELS,
    TRAIN_HINT,
    WEIGHTS_DIR,
    WEIGHTS_FILE,
    ModelUnavailable,
    model_info,
    train_hint,
    weights_file,
)

# GPT-2 small's induction heads as the field's tutorials name them (layer, head); published
# induction scores on repeated random tokens (seq_len 50) are about 0.83 (7.2) to 0.93 (5.5).
GPT2_INDUCTION_HEADS = [(5, 1), (5, 5), (6, 9), (7, 2), (7, 10)]
# GPT-2 small's previous-token head as the literature names it: Wang et al. 2022, "Interpretability
# in the Wild" (the IOI circuit), list the previous-token heads 2.2 and 4.11; 4.11 is the one the
# tutorials cite as a clean previous-token head (2.2 is weaker outside the IOI prompts).
GPT2_PREVIOUS_TOKEN_HEADS = [(4, 11)]


def bridge_config(name: str = DEFAULT_MODEL) -> dict:
    """The dict ``TransformerBridge.boot_native`` takes for a shipped model."""
    cfg = dict(model_info(name)["model_config"])
    cfg.setdefault("seed", 0)
    return cfg


def bos_token(name: str = DEFAULT_MODEL) -> int:
    return int(model_info(name)["bos_token"])


def induction_heads(name: str = DEFAULT_MODEL) -> list[tuple[int, int]]:
    """A shipped model's induction heads as (layer, head) pairs, as the training script found them."""
    return [tuple(h) for h in model_info(name)["induction_heads"]]


def previous_token_heads(name: str = DEFAULT_MODEL) -> list[tuple[int, int]]:
    """A shipped model's previous-token heads as (layer, head) pairs."""
    return [tuple(h) for h in model_info(name)["previous_token_heads"]]


def _resolve_device(device) -> str:
    if device is None:
        return "cpu"
    device = str(device)
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    return device


def load_shipped_model(name: str = DEFAULT_MODEL, device=None):
    """Load a shipped attention-only model (one of SHIPPED_MODELS) into a TransformerLens 4
    ``TransformerBridge``.

    device: "cpu" (default), "cuda", "mps" or "auto". The model is in eval mode; every call
    returns a fresh model, so hooks or edits on one never leak into another.
    """
    from safetensors.torch import load_file
    from transformer_lens.model_bridge import TransformerBridge

    path = weights_file(name)
    if not path.is_file():
        raise ModelUnavailable(
            f"the {name} model's weights are missing ({path}). Re-install the "
            f"package, or train them with `{train_hint(name)}`."
        )
    bridge = TransformerBridge.boot_native(bridge_config(name))
    state = load_file(str(path))
    bridge.load_state_dict(state, strict=True)
    bridge.eval()
    device = _resolve_device(device)
    if device != "cpu":
        bridge = bridge.to(device)
    return bridge


def load_induction_model(device=None):
    """The TransformerLens chapter's shipped model (attn-only-induction) as a ``TransformerBridge``."""
    return load_shipped_model(DEFAULT_MODEL, device)


def load_circuits_model(device=None, name: str = "attn-only-circuits"):
    """The circuits chapter's shipped model (attn-only-circuits, or the 3-layer attn-only-circuits-3l)
    as a ``TransformerBridge``: n_ctx 96, previous-token heads clear at seq_len 40 and beyond."""
    if not name.startswith("attn-only-circuits"):
        raise ValueError(f"{name!r} is not a circuits model: use 'attn-only-circuits' or 'attn-only-circuits-3l'")
    return load_shipped_model(name, device)


GPT2_NAMES = ("gpt2", "openai-community/gpt2")  # the hub's old and new names for GPT-2 small


def gpt2_available() -> bool:
    """True when GPT-2 small's weights are in the local Hugging Face cache (nothing is downloaded)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    for repo in GPT2_NAMES:
        for name in ("model.safetensors", "pytorch_model.bin"):
            hit = try_to_load_from_cache(repo, name)
            if isinstance(hit, str) and os.path.isfile(hit):
                return True
    return False


def gpt2_how_to_get() -> str:
    """What to do when GPT-2 small's weights are not here (the GPT-2 chapter's wording)."""
    from mi_exercise.models.gpt2_pretrained import how_to_get

    return how_to_get("gpt2")


def load_gpt2(device=None):
    """GPT-2 small as a TransformerLens 4 ``TransformerBridge``, from the local Hugging Face cache
    only (the hub is switched offline; nothing is downloaded). device as in load_induction_model.

    Raises ModelUnavailable, saying how to fetch the weights once, when they are not cached here.
    """
    from mi_exercise.models.gpt2_pretrained import PretrainedUnavailable, load_bridge

    problems = []
    for name in GPT2_NAMES:
        try:
            return load_bridge(name, device=_resolve_device(device))
        except PretrainedUnavailable as exc:
            problems.append(str(exc))
    raise ModelUnavailable(problems[0])


def gpt2_bos(model) -> int:
    """A GPT-2 bridge's BOS token id, from its Hugging Face config (<|endoftext|>, 50256 in GPT-2
    small: its last token id, which is also the fallback)."""
    config = getattr(getattr(model, "original_model", None), "config", None)
    bos = getattr(config, "bos_token_id", None)
    if isinstance(bos, int) and 0 <= bos < int(model.cfg.d_vocab):
        return bos
    return int(model.cfg.d_vocab) - 1


def load_model(name: str = DEFAULT_MODEL, device=None):
    """Load a model by name: a shipped one (SHIPPED_MODELS; "induction" is attn-only-induction) or
    "gpt2" (local cache only)."""
    if name in (None, "", "induction"):
        return load_induction_model(device)
    if name in SHIPPED_MODELS:
        return load_shipped_model(name, device)
    if name == "gpt2":
        return load_gpt2(device)
    raise ValueError(f"unknown model {name!r}: use one of {', '.join(SHIPPED_MODELS)} or 'gpt2'")


def repeated_tokens(seq_len: int, batch: int = 1, seed: int = 0, d_vocab: int | None = None,
                    bos: int | None = None) -> torch.Tensor:
    """``[BOS] + seq + seq`` with seq drawn uniformly from the non-BOS tokens.

    Returns int64 [batch, 1 + 2 * seq_len]. Seeded: the same arguments give the same tokens.
    """
    if seq_len < 1 or batch < 1:
        raise ValueError(f"seq_len and batch must be at least 1 (got seq_len={seq_len}, batch={batch})")
    d_vocab = d_vocab if d_vocab is not None else int(model_info()["model_config"]["d_vocab"])
    bos = bos if bos is not None else bos_token()
    gen = torch.Generator().manual_seed(seed)
    seq = torch.randint(0, d_vocab - 1, (batch, seq_len), generator=gen)
    seq = seq + (seq >= bos).long()  # skip the BOS id
    first = torch.full((batch, 1), bos, dtype=torch.long)
    return torch.cat([first, seq, seq], dim=1)


@torch.no_grad()
def per_token_loss(model, tokens: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each next-token prediction: [batch, seq - 1] (position i predicts token i+1)."""
    logits = model(tokens.to(next(model.parameters()).device))
    logprobs = logits.float().log_softmax(-1)[:, :-1]
    target = tokens[:, 1:].to(logprobs.device)
    return -logprobs.gather(-1, target[..., None])[..., 0].cpu()


@torch.no_grad()
def head_scores(model, seq_len: int = 30, batch: int = 16, seed: int = 1234) -> dict:
    """Per-head scores on ``[BOS] + seq + seq``: lists [n_layers][n_heads] of floats.

    induction: mean attention from each second-copy position to the token after that token's
    first occurrence (diagonal at offset -(seq_len - 1)); previous_token: mean attention to
    the position just before (offset -1), over every query after BOS.
    """
    cfg = model.cfg
    tokens = repeated_tokens(seq_len, batch, seed, d_vocab=cfg.d_vocab)
    _, cache = model.run_with_cache(tokens.to(next(model.parameters()).device))
    induction, previous = [], []
    for layer in range(cfg.n_layers):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"].float().cpu()
        ind = pattern.diagonal(offset=-(seq_len - 1), dim1=-2, dim2=-1)[..., -seq_len:]
        prev = pattern.diagonal(offset=-1, dim1=-2, dim2=-1)
        induction.append(ind.mean(dim=(0, -1)).tolist())
        previous.append(prev.mean(dim=(0, -1)).tolist())
    return {"induction": induction, "previous_token": previous}


@torch.no_grad()
def figure_data(seq_len: int = 20, seed: int = 0, model=None) -> dict:
    """What the site needs to draw the chapter's pictures, as plain Python data.

    Runs the shipped model on one ``[BOS] + seq + seq`` sequence and returns
      tokens:        list[int], length T = 1 + 2 * seq_len
      patterns:      patterns[layer][head] is a T x T list of lists (query rows, key columns)
      per_token_loss: list[float], length T - 1 (loss of predicting token i+1 at position i)
      induction_heads, previous_token_heads: lists of [layer, head]
      head_scores:   {"induction": [[...]], "previous_token": [[...]]}
      seq_len:       the length of one copy
    """
    model = model if model is not None else load_induction_model()
    tokens = repeated_tokens(seq_len, 1, seed, d_vocab=model.cfg.d_vocab)
    _, cache = model.run_with_cache(tokens)
    patterns = [cache[f"blocks.{l}.attn.hook_pattern"][0].float().cpu().tolist() for l in range(model.cfg.n_layers)]
    return {
        "tokens": tokens[0].tolist(),
        "seq_len": seq_len,
        "patterns": patterns,
        "per_token_loss": per_token_loss(model, tokens)[0].tolist(),
        "induction_heads": [list(h) for h in induction_heads()],
        "previous_token_heads": [list(h) for h in previous_token_heads()],
        "head_scores": head_scores(model),
    }
