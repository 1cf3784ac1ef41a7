"""Train the small attention-only transformer that the TransformerLens chapter ships.

The model is TransformerLens 4's native architecture (``TransformerBridge.boot_native``):
2 layers, 4 heads per layer, d_model 64, no MLPs, LayerNorm, learned positions, a vocabulary
of 128 tokens where token 0 is BOS. Its training data is random tokens in which a span of
random length (6..30) starting at a random place repeats to the end of the row (see
``make_batch``), so the only thing worth learning is in-context copying, and only by content.
Previous-token heads form in layer 0 and induction heads in layer 1; training evaluates the
head scores every 100 steps and stops as soon as the circuit is clearly there (see ``formed``).

Run (a few minutes on 1 CPU thread, even on a busy machine):

    python scripts/train_induction_model.py            # writes cli/models/weights/attn-only-induction/
    python scripts/train_induction_model.py --out DIR  # somewhere else
    python scripts/train_induction_model.py --model attn-only-circuits     # the circuits chapter's models
    python scripts/train_induction_model.py --model attn-only-circuits-3l  # (see MODELS)

The circuits chapter needs previous-token heads that stay clear at seq_len 40 and beyond, where
this recipe's model fades (previous-token score 0.88 at seq_len 10, 0.44 at 30): its models
(MODELS) have n_ctx 96, spans of 6..45, parameter-free LayerNorm (LNPre, with the embeddings and
W_O centred) and train until a previous-token head scores >= 0.7 at seq_len 40 as well. With the
TransformerLens chapter's data and stopping rule on n_ctx 96 (seed 1, LN), layer 1 learnt to copy
from a fixed distance (induction score ~0 at step 1600 while the seq_len-40 loss fell); with
LNPre, seed 3 (2 layers) formed one previous-token head (0.3, 0.82 at seq_len 40) in 2000 steps,
and seed 2 (3 layers) one at 0.1 (0.81) in 1500, each in ~18 minutes on a heavily loaded
2-core machine (1 thread). A rerun of --model attn-only-circuits on that machine wrote a
byte-identical model.safetensors; a rerun of the default there matched the shipped config's scores
to 4 decimals but not its bytes (weights within 2e-5: float rounding differs between CPUs).

Which circuit forms depends on the seed. On this data a model can also copy by matching the
token k places back for some k > 1 (layer-0 heads that look k back, layer-1 heads that attend
about seq_len - k back): with seeds 0 and 2 it settled on such a variant within 2000 steps,
which the induction score (offset seq_len - 1) does not count; seed 1, the default, forms
exact previous-token heads and true induction heads. The script refuses to save weights
that do not pass ``formed``.

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
# The models this script trains, by name (--model). Each is written to cli/models/weights/NAME/.
#   attn-only-induction: the TransformerLens chapter's model (the defaults, unchanged since it shipped).
#   attn-only-circuits:  the circuits chapter's model: n_ctx 96 so [BOS] + seq + seq fits at seq_len 40+,
#                        longer repeated spans, parameter-free LayerNorm (LNPre) so that W_E W_Q W_K^T W_E^T
#                        is what a head computes on a token (no LN weights to fold in), and a stricter stop:
#                        previous-token heads >= 0.7 and induction heads >= 0.5 at seq_len 40.
#   attn-only-circuits-3l: the same recipe with 3 layers and another seed, so its heads sit elsewhere.
CIRCUITS_CONFIG = dict(MODEL_CONFIG, n_ctx=96, normalization_type="LNPre")
MODELS = {
    "attn-only-induction": {"config": MODEL_CONFIG, "seed": 1, "min_span": 6, "max_span": 30, "score_len": 25,
                            "check_len": None, "min_prev": 0.0, "min_induction": 0.5},
    "attn-only-circuits": {"config": CIRCUITS_CONFIG, "seed": 3, "min_span": 6, "max_span": 45, "score_len": 40,
                           "check_len": 40, "min_prev": 0.7, "min_induction": 0.5},
    "attn-only-circuits-3l": {"config": dict(CIRCUITS_CONFIG, n_layers=3), "seed": 2, "min_span": 6, "max_span": 45,
                              "score_len": 40, "check_len": 40, "min_prev": 0.7, "min_induction": 0.5},
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
        affine = cfg["normalization_type"] == "LN"  # LNPre: centre and scale only, no weight or bias
        self.embed = torch.nn.Embedding(v, d)
        self.pos_embed = torch.nn.Embedding(cfg["n_ctx"], d)
        self.blocks = torch.nn.ModuleList()
        for _ in range(cfg["n_layers"]):
            block = torch.nn.Module()
            block.ln1 = torch.nn.LayerNorm(d, eps=1e-5, elementwise_affine=affine)
            block.q = torch.nn.Linear(d, cfg["n_heads"] * cfg["d_head"])
            block.k = torch.nn.Linear(d, cfg["n_heads"] * cfg["d_head"])
            block.v = torch.nn.Linear(d, cfg["n_heads"] * cfg["d_head"])
            block.o = torch.nn.Linear(cfg["n_heads"] * cfg["d_head"], d)
            self.blocks.append(block)
        self.ln_final = torch.nn.LayerNorm(d, eps=1e-5, elementwise_affine=affine)
        self.unembed = torch.nn.Linear(d, v)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                torch.nn.init.zeros_(p)
            elif "ln" not in name:
                torch.nn.init.normal_(p, std=INIT_STD)

    def forward(self, toks: torch.Tensor, patterns: list | None = None) -> torch.Tensor:
        """Logits [batch, pos, d_vocab]; appends each layer's attention pattern
        [batch, head, query, key] to ``patterns`` when a list is given."""
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
            pattern = scores.softmax(-1)
            if patterns is not None:
                patterns.append(pattern.detach())
            z = (pattern @ v).transpose(1, 2).reshape(b, s, h * dh)
            x = x + block.o(z)
        return self.unembed(self.ln_final(x))

    def bridge_state_dict(self) -> dict:
        """Parameters under the keys ``TransformerBridge.boot_native(cfg).load_state_dict`` takes.

        With LNPre every read of the residual stream centres it first, so the mean over d_model of
        what is written to it (W_E, W_pos, each W_O and b_O) changes nothing: those are centred here
        (TransformerLens's center_writing_weights), which makes W_E W_Q W_K^T W_E^T and the other
        circuits exactly what the heads see, up to LayerNorm's scale. to_bridge checks the logits."""
        out = {}
        centre = self.cfg["normalization_type"] == "LNPre"
        for name, p in self.state_dict().items():
            key = re.sub(r"^blocks\.(\d+)\.([qkvo])\.", r"blocks.\1.attn.\2.", name)
            p = p.detach().clone()
            if centre and (name in ("embed.weight", "pos_embed.weight")):
                p = p - p.mean(-1, keepdim=True)  # [rows, d_model]
            elif centre and re.match(r"^blocks\.\d+\.o\.", name):
                p = p - p.mean(0, keepdim=True)  # weight [d_model, n_heads * d_head], bias [d_model]
            out[key] = p.contiguous()
        return out


def make_batch(gen: torch.Generator, batch: int, n_ctx: int, d_vocab: int,
               min_span: int = 6, max_span: int = 30, periodic: bool = True) -> torch.Tensor:
    """Training rows ``[BOS] + pad + r + r + r ...`` of random tokens in [1, d_vocab). Shape [batch, n_ctx].

    For each row the span r has its own random length L in [min_span, max_span] and starts at a
    random place, after a random-length run of random tokens (``pad``). With ``periodic`` (the
    default) r repeats until the row ends; without it r is copied once and random tokens fill
    the rest. Since the distance back to the previous copy (L) and where the copying starts
    change from row to row, no fixed positional offset predicts the copies: only content-based
    induction does (find the previous occurrence of the current token, attend to the token
    after it, copy that token).

    What did not work (seed 0, 2-4k steps): one fixed repeat length (the model learnt "attend
    exactly L-1 back"); a single copy per row (too little copying signal: a long plateau, then
    heads that attend to a smeared range of earlier positions); sinusoidal position init (layer
    0 learnt fixed long offsets). Repeating the span to the row's end makes ~3/4 of the
    positions predictable, and the previous-token and induction heads form in under 1000 steps.
    """
    body = n_ctx - 1
    max_span = min(max_span, body // 2)
    toks = torch.randint(1, d_vocab, (batch, body), generator=gen)
    lengths = torch.randint(min_span, max_span + 1, (batch,), generator=gen)
    for i in range(batch):
        length = int(lengths[i])
        start = int(torch.randint(0, body - 2 * length + 1, (1,), generator=gen))
        if periodic:  # r repeated until the row ends: more predictable positions per row
            reps = -(-(body - start) // length)
            toks[i, start:] = toks[i, start : start + length].repeat(reps)[: body - start]
        else:
            toks[i, start + length : start + 2 * length] = toks[i, start : start + length]
    bos = torch.full((batch, 1), BOS, dtype=toks.dtype)
    return torch.cat([bos, toks], dim=1)


def repeated_tokens(gen: torch.Generator, batch: int, seq_len: int, d_vocab: int) -> torch.Tensor:
    """``[BOS] + seq + seq`` with seq uniform in [1, d_vocab). Shape [batch, 1 + 2 * seq_len]."""
    seq = torch.randint(1, d_vocab, (batch, seq_len), generator=gen)
    bos = torch.full((batch, 1), BOS, dtype=seq.dtype)
    return torch.cat([bos, seq, seq], dim=1)


@torch.no_grad()
def head_scores(model, seq_len: int = 25, batch: int = 64, seed: int = 1234, cfg: dict = MODEL_CONFIG) -> dict:
    """Per-head induction and previous-token scores on fresh repeated sequences.

    ``model`` is a TransformerBridge (patterns from ``run_with_cache``) or a PlainAttnOnly
    (patterns collected by its forward). Induction score: mean attention from each position in
    the second copy to the token right after the same token's first occurrence (the diagonal at
    offset ``seq_len - 1`` below the main one). Previous-token score: mean attention to the
    position just before, over every query position after BOS. Returns lists of shape
    [n_layers][n_heads], and the loss on each half.
    """
    gen = torch.Generator().manual_seed(seed)
    toks = repeated_tokens(gen, batch, seq_len, cfg["d_vocab"])
    if isinstance(model, PlainAttnOnly):
        patterns: list = []
        logits = model(toks, patterns)
    else:
        logits, cache = model.run_with_cache(toks)
        patterns = [cache[f"blocks.{layer}.attn.hook_pattern"] for layer in range(cfg["n_layers"])]
    induction, previous = [], []
    for pattern in patterns:  # [batch, head, q, k]
        ind = pattern.diagonal(offset=-(seq_len - 1), dim1=-2, dim2=-1)[..., -seq_len:]
        prev = pattern.diagonal(offset=-1, dim1=-2, dim2=-1)
        induction.append(ind.mean(dim=(0, -1)).tolist())
        previous.append(prev.mean(dim=(0, -1)).tolist())
    logprobs = logits.log_softmax(-1)[:, :-1].gather(-1, toks[:, 1:, None])[..., 0]
    first = -logprobs[:, :seq_len].mean().item()
    second = -logprobs[:, seq_len:].mean().item()
    return {"induction": induction, "previous_token": previous, "loss_first_half": first, "loss_second_half": second}


def pick_heads(scores: dict) -> tuple[list, list]:
    """([layer, head] of induction heads, [layer, head] of previous-token heads) by threshold."""
    n_layers, n_heads = len(scores["induction"]), len(scores["induction"][0])
    induction = [[l, h] for l in range(n_layers) for h in range(n_heads) if scores["induction"][l][h] > INDUCTION_THRESHOLD]
    previous = [[l, h] for l in range(n_layers) for h in range(n_heads) if scores["previous_token"][l][h] > PREV_TOKEN_THRESHOLD]
    return induction, previous


def formed(scores: dict, min_prev: float = 0.0, min_induction: float = 0.5) -> bool:
    """True once the circuit is clearly there: induction heads scoring > min_induction that stand
    out (3x every other head), previous-token heads scoring >= min_prev in an earlier layer that
    stand out (2x the other heads of their layer), and the repeated half's loss below 20% of the
    first half's."""
    induction, previous = pick_heads(scores)
    if not induction or not previous:
        return False
    ind, prev = scores["induction"], scores["previous_token"]
    known = [ind[l][h] for l, h in induction]
    others = [ind[l][h] for l in range(len(ind)) for h in range(len(ind[l])) if [l, h] not in induction]
    known_prev = [prev[l][h] for l, h in previous]
    first_layer = min(l for l, _ in previous)
    other_prev = [prev[first_layer][h] for h in range(len(prev[first_layer])) if [first_layer, h] not in previous]
    return (min(known) > min_induction and min(known) > 3 * max(others, default=0.0)
            and min(known_prev) >= min_prev and min(known_prev) > 2 * max(other_prev, default=0.0)
            and min(l for l, _ in induction) > first_layer
            and scores["loss_second_half"] < 0.2 * scores["loss_first_half"])


def train(steps: int, batch: int, lr: float, seed: int, threads: int, min_span: int = 6, max_span: int = 30,
          periodic: bool = True, checkpoint: Path | None = None, eval_every: int = 100, log_every: int = 100, patience: int = 2,
          spec: dict = MODELS["attn-only-induction"]):
    """AdamW on make_batch rows; stops early once ``formed`` holds at ``patience`` evaluations in a row
    (for a spec with a check_len, at the default length and at check_len both).

    Returns (model, seconds, smoothed final loss, steps run, history of evaluations)."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    cfg = spec["config"]
    model = PlainAttnOnly(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    ramp = 50  # learning-rate ramp over the first steps (the data is the same from step 0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / ramp))
    gen = torch.Generator().manual_seed(seed + 1)
    t0 = time.time()
    running = None
    in_a_row = 0
    step = 0
    history = []
    for step in range(steps):
        model.train()
        toks = make_batch(gen, batch, cfg["n_ctx"], cfg["d_vocab"], min_span, max_span, periodic)
        logits = model(toks)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), toks[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if step % log_every == 0:
            print(f"step {step:5d}  loss {loss.item():.4f}  (smoothed {running:.4f})  {time.time() - t0:.0f}s", flush=True)
        if (step + 1) % eval_every == 0:
            model.eval()
            sc = head_scores(model, batch=32, cfg=cfg)
            best_ind = max(max(row) for row in sc["induction"][1:])
            best_prev = max(sc["previous_token"][0])
            ok = formed(sc, spec["min_prev"], spec["min_induction"])
            if spec["check_len"]:
                long = head_scores(model, seq_len=spec["check_len"], batch=32, cfg=cfg)
                ok = ok and formed(long, spec["min_prev"], spec["min_induction"]) and pick_heads(long) == pick_heads(sc)
                print(f"   at seq_len {spec['check_len']}: best induction {max(max(r) for r in long['induction'][1:]):.3f}, "
                      f"layer-0 previous-token {[round(x, 3) for x in long['previous_token'][0]]}", flush=True)
            history.append({"step": step + 1, "loss_first_half": round(sc["loss_first_half"], 3),
                            "loss_second_half": round(sc["loss_second_half"], 3),
                            "best_induction": round(best_ind, 3), "best_previous_token": round(best_prev, 3)})
            print(f"   eval: loss halves {sc['loss_first_half']:.3f} / {sc['loss_second_half']:.3f}, "
                  f"best layer-1 induction {best_ind:.3f}, best layer-0 previous-token {best_prev:.3f}", flush=True)
            if checkpoint is not None:
                torch.save(model.state_dict(), checkpoint)
            in_a_row = in_a_row + 1 if ok else 0
            if in_a_row >= patience:
                print(f"induction circuit formed; stopping at step {step + 1}", flush=True)
                break
    model.eval()
    return model, time.time() - t0, running, step + 1, history


def to_bridge(plain: PlainAttnOnly):
    """Load the trained weights into a TransformerBridge and check it computes the same logits."""
    from transformer_lens.model_bridge import TransformerBridge

    cfg = plain.cfg
    bridge = TransformerBridge.boot_native(dict(cfg, seed=0))
    state = plain.bridge_state_dict()
    missing, unexpected = bridge.load_state_dict(state, strict=True)
    gen = torch.Generator().manual_seed(99)
    toks = make_batch(gen, 4, cfg["n_ctx"], cfg["d_vocab"])
    with torch.no_grad():
        diff = (bridge(toks) - plain(toks)).abs().max().item()
    if diff > 1e-4:
        raise RuntimeError(f"bridge logits differ from the trained model's by {diff}")
    return bridge, state


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), default="attn-only-induction",
                   help="which model to train (its layout, data, seed and stopping rule; see MODELS)")
    p.add_argument("--out", type=Path, help="where to write (default: cli/models/weights/MODEL/)")
    p.add_argument("--steps", type=int, default=4000, help="most steps; training stops early once the circuit forms")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, help="default: the model's own seed (MODELS)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (on a busy 2-core machine, 2 threads made each step 10x slower than 1)")
    p.add_argument("--min-span", type=int, help="shortest repeated span in the training data (default: the model's)")
    p.add_argument("--max-span", type=int, help="longest repeated span in the training data (default: the model's)")
    p.add_argument("--pairs", action="store_true",
                   help="copy the span once ([BOS] + pad + r + r + tail) instead of repeating it to the row's end")
    p.add_argument("--checkpoint", type=Path, help="save the plain model's state dict here at every evaluation")
    p.add_argument("--save-anyway", action="store_true", help="write the weights even if no induction head formed (to debug)")
    args = p.parse_args(argv)
    spec = MODELS[args.model]
    cfg = spec["config"]
    out = args.out or DEFAULT_OUT.parent / args.model
    seed = spec["seed"] if args.seed is None else args.seed
    min_span = spec["min_span"] if args.min_span is None else args.min_span
    max_span = spec["max_span"] if args.max_span is None else args.max_span
    if not 1 <= min_span <= max_span or 2 * max_span > cfg["n_ctx"] - 1:
        p.error(f"need 1 <= --min-span <= --max-span <= {(cfg['n_ctx'] - 1) // 2}")

    from safetensors.torch import save_file

    plain, seconds, final_loss, steps_run, history = train(
        args.steps, args.batch, args.lr, seed, args.threads, min_span, max_span, not args.pairs,
        args.checkpoint, spec=spec)
    model, state = to_bridge(plain)
    score_len = spec["score_len"]
    scores = head_scores(model, seq_len=score_len, cfg=cfg)
    induction, previous = pick_heads(scores)
    n_layers, n_heads = cfg["n_layers"], cfg["n_heads"]

    print(f"\ntrained {steps_run} steps in {seconds:.0f}s")
    print(f"head scores on [BOS] + seq + seq, seq_len {score_len}, 64 sequences")
    print("layer.head  induction  previous-token")
    for l in range(n_layers):
        for h in range(n_heads):
            print(f"  {l}.{h}       {scores['induction'][l][h]:.3f}      {scores['previous_token'][l][h]:.3f}")
    print(f"induction heads (score > {INDUCTION_THRESHOLD}): {induction}")
    print(f"previous-token heads (score > {PREV_TOKEN_THRESHOLD}): {previous}")
    print(f"loss on first half {scores['loss_first_half']:.3f}, second half {scores['loss_second_half']:.3f} "
          f"(uniform guess: {math.log(cfg['d_vocab'] - 1):.3f})")
    ok = formed(scores, spec["min_prev"], spec["min_induction"])
    if not ok:
        print("error: no clear induction circuit formed (see the scores above); train longer", file=sys.stderr)
        if not args.save_anyway:
            return 1

    out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out / "model.safetensors"))
    meta = {
        "model_config": cfg,
        "bos_token": BOS,
        "induction_heads": induction,
        "previous_token_heads": previous,
        "head_scores": {
            "seq_len": score_len,
            "batch": 64,
            "induction": [[round(x, 4) for x in row] for row in scores["induction"]],
            "previous_token": [[round(x, 4) for x in row] for row in scores["previous_token"]],
            "loss_first_half": round(scores["loss_first_half"], 4),
            "loss_second_half": round(scores["loss_second_half"], 4),
        },
        "training": {
            "script": "scripts/train_induction_model.py" + ("" if args.model == "attn-only-induction" else f" --model {args.model}"),
            "data": f"[BOS] + pad + r + r + tail, span length {min_span}..{max_span} per row",
            "seed": seed,
            "max_steps": args.steps,
            "steps": steps_run,
            "batch": args.batch,
            "lr": args.lr,
            "threads": args.threads,
            "torch": torch.__version__,
            "seconds": round(seconds, 1),
            "final_smoothed_loss": round(final_loss, 4),
            "history": history,
        },
    }
    (out / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {out}/model.safetensors and config.json")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
