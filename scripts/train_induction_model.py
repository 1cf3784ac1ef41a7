"""Train the small attention-only transformer that the TransformerLens chapter ships.

The model is TransformerLens 4's native architecture (``TransformerBridge.boot_native``):
2 layers, 4 heads per layer, d_model 64, no MLPs, LayerNorm, learned positions, a vocabulary
of 128 tokens where token 0 is BOS. Its training data is random tokens with repeated spans,
so the only thing worth learning is in-context copying; a previous-token head in layer 0
and an induction head in layer 1 form within a few hundred steps.

Run (about two minutes on 2 CPU cores):

    python scripts/train_induction_model.py            # writes cli/models/weights/attn-only-induction/
    python scripts/train_induction_model.py --out DIR  # somewhere else

The script is seeded: the same torch version and thread count give the same weights. At the
end it scores every head on fresh repeated sequences and records which heads are induction
heads and which are previous-token heads in ``config.json`` next to ``model.safetensors``;
``tests/test_induction_model.py`` checks that the shipped weights still show them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "cli" / "models" / "weights" / "attn-only-induction"

MODEL_CONFIG = {
    "n_layers": 2,
    "n_heads": 4,
    "d_model": 64,
    "d_head": 16,
    "d_vocab": 128,
    "n_ctx": 64,
    "attn_only": True,
    "normalization_type": "LN",
    "positional_embedding_type": "standard",
    "act_fn": None,
}
BOS = 0
INIT_STD = 0.1
INDUCTION_THRESHOLD = 0.4
PREV_TOKEN_THRESHOLD = 0.4


class PlainAttnOnly(torch.nn.Module):
    """The same computation as TransformerLens 4's native attention-only model, in plain torch.

    Training goes through this module because the bridge's hook wrappers make every step
    about 20x slower; ``bridge_state_dict`` maps its parameters onto the bridge's keys and
    ``main`` checks that the bridge reproduces its logits before saving.
    """

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        d, v = cfg["d_model"], cfg["d_vocab"]
        self.embed = torch.nn.Embedding(v, d)
        self.pos_embed = torch.nn.Embedding(cfg["n_ctx"], d)
        self.blocks = torch.nn.ModuleList()
        for _ in range(cfg["n_layers"]):
            block = torch.nn.Module()
            block.ln1 = torch.nn.LayerNorm(d, eps=1e-5)
            block.q = torch.nn.Linear(d, cfg["n_heads"] * cfg["d_head"])
            block.k = torch.nn.Linear(d, cfg["n_heads"] * cfg["d_head"])
            block.v = torch.nn.Linear(d, cfg["n_heads"] * cfg["d_head"])
            block.o = torch.nn.Linear(cfg["n_heads"] * cfg["d_head"], d)
            self.blocks.append(block)
        self.ln_final = torch.nn.LayerNorm(d, eps=1e-5)
        self.unembed = torch.nn.Linear(d, v)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                torch.nn.init.zeros_(p)
            elif "ln" not in name:
                torch.nn.init.normal_(p, std=INIT_STD)

    def forward(self, toks: torch.Tensor) -> torch.Tensor:
        b, s = toks.shape
        h, dh = self.cfg["n_heads"], self.cfg["d_head"]
        x = self.embed(toks) + self.pos_embed(torch.arange(s))
        mask = torch.triu(torch.ones(s, s, dtype=torch.bool), diagonal=1)
        for block in self.blocks:
            y = block.ln1(x)
            q = block.q(y).view(b, s, h, dh).transpose(1, 2)
            k = block.k(y).view(b, s, h, dh).transpose(1, 2)
            v = block.v(y).view(b, s, h, dh).transpose(1, 2)
            scores = (q @ k.transpose(-2, -1) / math.sqrt(dh)).masked_fill(mask, float("-inf"))
            z = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, h * dh)
            x = x + block.o(z)
        return self.unembed(self.ln_final(x))

    def bridge_state_dict(self) -> dict:
        """Parameters under the keys ``TransformerBridge.boot_native(cfg).load_state_dict`` takes."""
        out = {}
        for name, p in self.state_dict().items():
            key = re.sub(r"^blocks\.(\d+)\.([qkvo])\.", r"blocks.\1.attn.\2.", name)
            out[key] = p.detach().clone().contiguous()
        return out


def make_batch(gen: torch.Generator, batch: int, n_ctx: int, d_vocab: int) -> torch.Tensor:
    """Random tokens in [1, d_vocab) with repeated spans, BOS at position 0. Shape [batch, n_ctx].

    Half the rows are a random block of random length 4..n_ctx/2 repeated until the row is
    full (most positions can be predicted by copying); the other half are random tokens into
    which 3-8 earlier spans of length 2..8 are copied later. The short spans matter: with
    only long repeats, a variant circuit that matches on the token two back (and so fails on
    the first tokens of a copy) does as well as a true induction head, and training found it.
    """
    body = n_ctx - 1
    toks = torch.randint(1, d_vocab, (batch, body), generator=gen)
    periodic = batch // 2
    for i in range(periodic):
        length = int(torch.randint(4, body // 2 + 1, (1,), generator=gen))
        reps = -(-body // length)
        toks[i] = toks[i, :length].repeat(reps)[:body]
    for i in range(periodic, batch):
        n_copies = int(torch.randint(3, 9, (1,), generator=gen))
        for _ in range(n_copies):
            length = int(torch.randint(2, 9, (1,), generator=gen))
            src = int(torch.randint(0, body - 2 * length, (1,), generator=gen))
            dst = int(torch.randint(src + length, body - length + 1, (1,), generator=gen))
            toks[i, dst : dst + length] = toks[i, src : src + length]
    bos = torch.full((batch, 1), BOS, dtype=toks.dtype)
    return torch.cat([bos, toks], dim=1)


def make_skip_bigram_batch(gen: torch.Generator, batch: int, n_ctx: int, d_vocab: int, perm: torch.Tensor) -> torch.Tensor:
    """Warm-up data: triples (a, r, perm[a]) of random a and r, one after another.

    The third token of each triple is perm[token two places back], and nothing further back
    helps, so a layer-0 head that attends to exactly the previous token pays off on its own.
    Induction needs such a previous-token head, and without this warm-up the model sits on a
    long plateau before one forms; with it, a previous-token head forms in a few hundred steps
    and induction follows. Used only in the first part of training (see ``--warmup-frac``),
    mixed with the copying data.
    """
    body = n_ctx - 1
    n_triples = -(-body // 3)
    a = torch.randint(1, d_vocab, (batch, n_triples), generator=gen)
    r = torch.randint(1, d_vocab, (batch, n_triples), generator=gen)
    toks = torch.stack([a, r, perm[a]], dim=-1).reshape(batch, 3 * n_triples)[:, :body]
    bos = torch.full((batch, 1), BOS, dtype=toks.dtype)
    return torch.cat([bos, toks], dim=1)


def repeated_tokens(gen: torch.Generator, batch: int, seq_len: int, d_vocab: int) -> torch.Tensor:
    """``[BOS] + seq + seq`` with seq uniform in [1, d_vocab). Shape [batch, 1 + 2 * seq_len]."""
    seq = torch.randint(1, d_vocab, (batch, seq_len), generator=gen)
    bos = torch.full((batch, 1), BOS, dtype=seq.dtype)
    return torch.cat([bos, seq, seq], dim=1)


@torch.no_grad()
def head_scores(model, seq_len: int = 25, batch: int = 64, seed: int = 1234) -> dict:
    """Per-head induction and previous-token scores on fresh repeated sequences.

    Induction score: mean attention from each position in the second copy to the token right
    after the same token's first occurrence (the diagonal at offset ``seq_len - 1`` below the
    main one). Previous-token score: mean attention to the position just before, over every
    query position after BOS. Returns lists of shape [n_layers][n_heads], and the per-half loss.
    """
    gen = torch.Generator().manual_seed(seed)
    toks = repeated_tokens(gen, batch, seq_len, model.cfg.d_vocab)
    logits, cache = model.run_with_cache(toks)
    induction, previous = [], []
    for layer in range(model.cfg.n_layers):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"]  # [batch, head, q, k]
        ind = pattern.diagonal(offset=-(seq_len - 1), dim1=-2, dim2=-1)[..., -seq_len:]
        prev = pattern.diagonal(offset=-1, dim1=-2, dim2=-1)
        induction.append(ind.mean(dim=(0, -1)).tolist())
        previous.append(prev.mean(dim=(0, -1)).tolist())
    logprobs = logits.log_softmax(-1)[:, :-1].gather(-1, toks[:, 1:, None])[..., 0]
    first = -logprobs[:, :seq_len].mean().item()
    second = -logprobs[:, seq_len:].mean().item()
    return {"induction": induction, "previous_token": previous, "loss_first_half": first, "loss_second_half": second}


def train(steps: int, batch: int, lr: float, seed: int, threads: int, warmup_frac: float = 0.3, log_every: int = 100):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = PlainAttnOnly(MODEL_CONFIG)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    warmup = 100
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / warmup, 5.0 * (steps - s) / steps),  # flat, then a linear decay over the last 20%
    )
    gen = torch.Generator().manual_seed(seed + 1)
    # a permutation of the non-BOS tokens for the warm-up data
    perm = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(MODEL_CONFIG["d_vocab"] - 1, generator=gen)])
    t0 = time.time()
    running = None
    for step in range(steps):
        toks = make_batch(gen, batch, MODEL_CONFIG["n_ctx"], MODEL_CONFIG["d_vocab"])
        if step < warmup_frac * steps:
            half = batch // 2
            toks[half:] = make_skip_bigram_batch(gen, batch - half, MODEL_CONFIG["n_ctx"], MODEL_CONFIG["d_vocab"], perm)
        logits = model(toks)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), toks[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if step % log_every == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  (smoothed {running:.4f})  {time.time() - t0:.0f}s", flush=True)
    model.eval()
    return model, time.time() - t0, running


def to_bridge(plain: PlainAttnOnly):
    """Load the trained weights into a TransformerBridge and check it computes the same logits."""
    from transformer_lens.model_bridge import TransformerBridge

    bridge = TransformerBridge.boot_native(dict(MODEL_CONFIG, seed=0))
    state = plain.bridge_state_dict()
    missing, unexpected = bridge.load_state_dict(state, strict=True)
    gen = torch.Generator().manual_seed(99)
    toks = make_batch(gen, 4, MODEL_CONFIG["n_ctx"], MODEL_CONFIG["d_vocab"])
    with torch.no_grad():
        diff = (bridge(toks) - plain(toks)).abs().max().item()
    if diff > 1e-4:
        raise RuntimeError(f"bridge logits differ from the trained model's by {diff}")
    return bridge, state


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--save-anyway", action="store_true", help="write the weights even if no induction head formed (to debug)")
    p.add_argument("--warmup-frac", type=float, default=0.3,
                   help="fraction of steps whose batches are half previous-token warm-up data")
    args = p.parse_args(argv)

    from safetensors.torch import save_file

    plain, seconds, final_loss = train(args.steps, args.batch, args.lr, args.seed, args.threads, args.warmup_frac)
    model, state = to_bridge(plain)
    scores = head_scores(model)
    n_layers, n_heads = MODEL_CONFIG["n_layers"], MODEL_CONFIG["n_heads"]
    induction = [[l, h] for l in range(n_layers) for h in range(n_heads) if scores["induction"][l][h] > INDUCTION_THRESHOLD]
    previous = [[l, h] for l in range(n_layers) for h in range(n_heads) if scores["previous_token"][l][h] > PREV_TOKEN_THRESHOLD]

    print("\nhead scores on [BOS] + seq + seq, seq_len 25, 64 sequences")
    print("layer.head  induction  previous-token")
    for l in range(n_layers):
        for h in range(n_heads):
            print(f"  {l}.{h}       {scores['induction'][l][h]:.3f}      {scores['previous_token'][l][h]:.3f}")
    print(f"induction heads (score > {INDUCTION_THRESHOLD}): {induction}")
    print(f"previous-token heads (score > {PREV_TOKEN_THRESHOLD}): {previous}")
    print(f"loss on first half {scores['loss_first_half']:.3f}, second half {scores['loss_second_half']:.3f} "
          f"(uniform guess: {math.log(MODEL_CONFIG['d_vocab'] - 1):.3f})")
    if not induction or not previous:
        print("error: no induction head or no previous-token head formed; train longer", file=sys.stderr)
        if not args.save_anyway:
            return 1

    args.out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(args.out / "model.safetensors"))
    meta = {
        "model_config": MODEL_CONFIG,
        "bos_token": BOS,
        "induction_heads": induction,
        "previous_token_heads": previous,
        "head_scores": {
            "seq_len": 25,
            "induction": [[round(x, 4) for x in row] for row in scores["induction"]],
            "previous_token": [[round(x, 4) for x in row] for row in scores["previous_token"]],
            "loss_first_half": round(scores["loss_first_half"], 4),
            "loss_second_half": round(scores["loss_second_half"], 4),
        },
        "training": {
            "script": "scripts/train_induction_model.py",
            "seed": args.seed,
            "steps": args.steps,
            "batch": args.batch,
            "lr": args.lr,
            "threads": args.threads,
            "warmup_frac": args.warmup_frac,
            "torch": torch.__version__,
            "seconds": round(seconds, 1),
            "final_smoothed_loss": round(final_loss, 4),
        },
    }
    (args.out / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {args.out}/model.safetensors and config.json")
    return 0 if induction and previous else 1


if __name__ == "__main__":
    raise SystemExit(main())
