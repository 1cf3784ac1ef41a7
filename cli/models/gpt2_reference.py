"""The reference GPT-2 that the gpt2 chapter's graders compare learner code against.

It is TransformerLens 4's native model (`TransformerBridge.boot_native`) with seeded random
weights, at a reduced shape by default or at GPT-2 small's full shape. Its weights are mapped
by name to the learner's format, the one the exercises ask for (ARENA's layout):

    embed.W_E              [d_vocab, d_model]
    pos_embed.W_pos        [n_ctx, d_model]
    blocks.{i}.ln1.w/b     [d_model]
    blocks.{i}.attn.W_Q/W_K/W_V [n_heads, d_model, d_head]   b_Q/b_K/b_V [n_heads, d_head]
    blocks.{i}.attn.W_O    [n_heads, d_head, d_model]         b_O [d_model]
    blocks.{i}.ln2.w/b     [d_model]
    blocks.{i}.mlp.W_in    [d_model, d_mlp]  b_in [d_mlp]   W_out [d_mlp, d_model]  b_out [d_model]
    ln_final.w/b           [d_model]
    unembed.W_U            [d_model, d_vocab]  b_U [d_vocab]

`learner_state_dict(bridge)` maps bridge -> learner; `load_learner_state_dict(bridge, sd)` maps
back (used for the shipped tiny model). Component references are the bridge's own components:
`bridge.blocks[0].ln1(x)`, `bridge.blocks[0].attn(x)` (-> out, pattern), `bridge.blocks[0].mlp(x)`,
`bridge.blocks[0](x)`, `bridge.embed(tokens)`, `bridge.pos_embed(positions)`, `bridge.unembed(x)`.
"""

from __future__ import annotations

import torch

# The learner's config: a plain dict with these keys (the config exercise builds it).
CONFIG_KEYS = ("d_model", "n_heads", "d_head", "d_mlp", "n_layers", "n_ctx", "d_vocab", "layer_norm_eps", "init_range")

GPT2_SMALL_CONFIG = {
    "d_model": 768, "n_heads": 12, "d_head": 64, "d_mlp": 3072, "n_layers": 12, "n_ctx": 1024,
    "d_vocab": 50257, "layer_norm_eps": 1e-5, "init_range": 0.02,
}
# Small enough to grade in a second on a CPU; every size differs from the others (and
# n_heads * d_head != d_model, d_mlp != 4 * d_model) so that a swapped or hard-coded
# dimension shows up as a shape error instead of passing by coincidence.
REDUCED_CONFIG = {
    "d_model": 48, "n_heads": 4, "d_head": 16, "d_mlp": 160, "n_layers": 2, "n_ctx": 24,
    "d_vocab": 101, "layer_norm_eps": 1e-5, "init_range": 0.02,
}


def config(full: bool = False, **overrides) -> dict:
    """The learner-format config: GPT-2 small's shape with full=True, else the reduced one."""
    cfg = dict(GPT2_SMALL_CONFIG if full else REDUCED_CONFIG)
    unknown = set(overrides) - set(CONFIG_KEYS)
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)} (known: {', '.join(CONFIG_KEYS)})")
    cfg.update(overrides)
    return cfg


def bridge_config(cfg: dict, seed: int = 0):
    """The TransformerBridgeConfig of TransformerLens's native GPT-2-style model for a learner config."""
    from transformer_lens.config import TransformerBridgeConfig

    return TransformerBridgeConfig(
        d_model=cfg["d_model"], d_head=cfg["d_head"], n_heads=cfg["n_heads"], n_layers=cfg["n_layers"],
        n_ctx=cfg["n_ctx"], d_vocab=cfg["d_vocab"], d_mlp=cfg["d_mlp"], eps=cfg["layer_norm_eps"],
        act_fn="gelu_new", normalization_type="LN", positional_embedding_type="standard",
        init_mode="gpt2", initializer_range=cfg.get("init_range", 0.02), seed=seed,
    )


@torch.no_grad()
def boot_reference(cfg: dict | None = None, *, full: bool = False, seed: int = 0, device: str | None = None,
                   randomize: bool = True):
    """TransformerLens's native model with seeded random weights.

    TransformerLens initialises norms to 1 and biases to 0; with randomize=True every LayerNorm
    weight, bias and the unembedding bias get seeded noise too, so a learner who forgets a bias
    or a LayerNorm scale is caught. Weight matrices are scaled up from GPT-2's 0.02 so that
    attention patterns are peaked rather than near-uniform (a wrong attention scale or a
    missing mask then changes the output by far more than any tolerance).
    """
    from transformer_lens.model_bridge import TransformerBridge

    cfg = dict(cfg or config(full))
    bridge = TransformerBridge.boot_native(bridge_config(cfg, seed), device=device or "cpu")
    bridge.eval()
    if randomize:
        gen = torch.Generator().manual_seed(seed + 1)
        for name, tensor in bridge.state_dict().items():
            if not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=gen).to(tensor.device, tensor.dtype)
            if name.endswith(("ln1.weight", "ln2.weight", "ln_final.weight")):
                tensor.copy_(1.0 + 0.2 * noise)
            elif name.endswith(".bias"):
                tensor.copy_(0.1 * noise)
            elif name.startswith(("embed.", "pos_embed.")):
                tensor.copy_(noise)  # unit-scale embeddings: a residual stream of size ~1
            elif name.endswith(("q.weight", "k.weight")):
                tensor.copy_(noise * (1.5 / cfg["d_model"] ** 0.5))  # peaked attention
            else:
                tensor.copy_(noise * (1.0 / tensor.shape[-1] ** 0.5))
    return bridge


def _bridge_sd(bridge) -> dict:
    return {k: v.detach() for k, v in bridge.state_dict().items()}


def learner_state_dict(bridge, cfg: dict | None = None) -> dict[str, torch.Tensor]:
    """The bridge's weights, by name, in the learner's format (new contiguous CPU tensors)."""
    sd = _bridge_sd(bridge)
    c = bridge.cfg
    n_heads, d_head, d_model = c.n_heads, c.d_head, c.d_model
    out: dict[str, torch.Tensor] = {
        "embed.W_E": sd["embed.weight"],
        "pos_embed.W_pos": sd["pos_embed.weight"],
        "ln_final.w": sd["ln_final.weight"],
        "ln_final.b": sd["ln_final.bias"],
        "unembed.W_U": sd["unembed.weight"].T,
        "unembed.b_U": sd["unembed.bias"] if "unembed.bias" in sd else torch.zeros(c.d_vocab),
    }
    for i in range(c.n_layers):
        p, q = f"blocks.{i}.", f"blocks.{i}."
        for ln in ("ln1", "ln2"):
            out[f"{q}{ln}.w"] = sd[f"{p}{ln}.weight"]
            out[f"{q}{ln}.b"] = sd[f"{p}{ln}.bias"]
        for name in ("q", "k", "v"):
            w = sd[f"{p}attn.{name}.weight"]  # nn.Linear: [n_heads * d_head, d_model]
            out[f"{q}attn.W_{name.upper()}"] = w.reshape(n_heads, d_head, d_model).transpose(1, 2)
            out[f"{q}attn.b_{name.upper()}"] = sd[f"{p}attn.{name}.bias"].reshape(n_heads, d_head)
        w_o = sd[f"{p}attn.o.weight"]  # [d_model, n_heads * d_head]
        out[f"{q}attn.W_O"] = w_o.T.reshape(n_heads, d_head, d_model)
        out[f"{q}attn.b_O"] = sd[f"{p}attn.o.bias"]
        out[f"{q}mlp.W_in"] = sd[f"{p}mlp.in.weight"].T
        out[f"{q}mlp.b_in"] = sd[f"{p}mlp.in.bias"]
        out[f"{q}mlp.W_out"] = sd[f"{p}mlp.out.weight"].T
        out[f"{q}mlp.b_out"] = sd[f"{p}mlp.out.bias"]
    return {k: v.to("cpu").contiguous().clone() for k, v in out.items()}


@torch.no_grad()
def load_learner_state_dict(bridge, sd: dict[str, torch.Tensor]) -> None:
    """Copy learner-format weights into the bridge (the inverse of learner_state_dict)."""
    target = bridge.state_dict()
    c = bridge.cfg
    n_heads, d_head, d_model = c.n_heads, c.d_head, c.d_model

    def put(name: str, value: torch.Tensor) -> None:
        if name not in target:
            raise KeyError(f"the reference model has no weight '{name}'")
        if target[name].shape != value.shape:
            raise ValueError(f"{name}: shape {tuple(value.shape)} does not fit {tuple(target[name].shape)}")
        target[name].copy_(value)

    put("embed.weight", sd["embed.W_E"])
    put("pos_embed.weight", sd["pos_embed.W_pos"])
    put("ln_final.weight", sd["ln_final.w"])
    put("ln_final.bias", sd["ln_final.b"])
    put("unembed.weight", sd["unembed.W_U"].T)
    if "unembed.bias" in target:
        put("unembed.bias", sd["unembed.b_U"])
    for i in range(c.n_layers):
        p = f"blocks.{i}."
        for ln in ("ln1", "ln2"):
            put(f"{p}{ln}.weight", sd[f"{p}{ln}.w"])
            put(f"{p}{ln}.bias", sd[f"{p}{ln}.b"])
        for name in ("q", "k", "v"):
            put(f"{p}attn.{name}.weight", sd[f"{p}attn.W_{name.upper()}"].transpose(1, 2).reshape(n_heads * d_head, d_model))
            put(f"{p}attn.{name}.bias", sd[f"{p}attn.b_{name.upper()}"].reshape(n_heads * d_head))
        put(f"{p}attn.o.weight", sd[f"{p}attn.W_O"].reshape(n_heads * d_head, d_model).T)
        put(f"{p}attn.o.bias", sd[f"{p}attn.b_O"])
        put(f"{p}mlp.in.weight", sd[f"{p}mlp.W_in"].T)
        put(f"{p}mlp.in.bias", sd[f"{p}mlp.b_in"])
        put(f"{p}mlp.out.weight", sd[f"{p}mlp.W_out"].T)
        put(f"{p}mlp.out.bias", sd[f"{p}mlp.b_out"])


def component(sd: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of a learner state dict under `prefix` ("blocks.0.attn."), prefix removed."""
    if not prefix.endswith("."):
        prefix += "."
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def positions(tokens: torch.Tensor) -> torch.Tensor:
    """Position ids [batch, seq] for tokens [batch, seq]: what the bridge's pos_embed takes."""
    batch, seq = tokens.shape
    return torch.arange(seq, device=tokens.device).expand(batch, seq)


@torch.no_grad()
def learner_state_dict_from_bridge_weights(bridge) -> dict[str, torch.Tensor]:
    """Learner-format weights read through TransformerLens's weight properties (W_E, blocks[i].attn.W_Q,
    blocks[i].mlp.W_in, ...). Works for any GPT-2-style bridge, native or loaded from Hugging Face."""
    out: dict[str, torch.Tensor] = {
        "embed.W_E": bridge.W_E, "pos_embed.W_pos": bridge.W_pos,
        "ln_final.w": bridge.ln_final.weight, "ln_final.b": bridge.ln_final.bias,
        "unembed.W_U": bridge.W_U, "unembed.b_U": bridge.b_U,
    }
    for i, blk in enumerate(bridge.blocks):
        p = f"blocks.{i}."
        out[p + "ln1.w"], out[p + "ln1.b"] = blk.ln1.weight, blk.ln1.bias
        out[p + "ln2.w"], out[p + "ln2.b"] = blk.ln2.weight, blk.ln2.bias
        for name in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"):
            out[p + "attn." + name] = getattr(blk.attn, name)
        for name in ("W_in", "b_in", "W_out", "b_out"):
            out[p + "mlp." + name] = getattr(blk.mlp, name)
    return {k: v.detach().to("cpu", torch.float32).contiguous().clone() for k, v in out.items()}


def learner_config_from_bridge(bridge) -> dict:
    c = bridge.cfg
    return {"d_model": c.d_model, "n_heads": c.n_heads, "d_head": c.d_head, "d_mlp": c.d_mlp,
            "n_layers": c.n_layers, "n_ctx": c.n_ctx, "d_vocab": c.d_vocab, "layer_norm_eps": float(c.eps),
            "init_range": 0.02}
