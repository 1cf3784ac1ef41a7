"""Train the small GPT-2 that mi-exercise ships (cli/models/weights/tiny-gpt2/).

    python scripts/train_tiny_gpt2.py [--steps 600] [--out cli/models/weights/tiny-gpt2]

What it does, all offline and seeded (seed 0), so a rerun gives the same corpus and, on the same
torch build and thread count, the same weights:
1. Generates the training text: sentences from a small English grammar (determiners, adjectives,
   nouns, verbs, places, a few sentence patterns), written by this script, so the project may
   redistribute it. Nothing is downloaded.
2. Builds a word-level tokenizer over the corpus's words and punctuation (+ <unk>, <eos>).
3. Trains GPT-2's architecture (LayerNorm, learned positions, tanh GELU; the reference solution of
   the gpt2-model exercise, plain PyTorch, which the tests prove equal to TransformerLens's native
   model) at a small shape with AdamW on next-token prediction over sentences packed into
   windows of n_ctx tokens.
4. Saves the weights in the learner's format (the names the gpt2 exercises use) as safetensors,
   the config with the training settings and final losses, the tokenizer and the corpus.

It takes about two minutes on one CPU core and prints the loss as it goes.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SEED = 0
CONFIG = {"d_model": 64, "n_heads": 4, "d_head": 16, "d_mlp": 256, "n_layers": 2, "n_ctx": 64,
          "d_vocab": 0, "layer_norm_eps": 1e-5, "init_range": 0.02}  # d_vocab is set from the tokenizer

DET = ["the", "a", "my", "your", "one"]
ADJ = ["small", "big", "red", "old", "happy", "quiet", "warm", "green", "tired", "clever", "brave", "soft"]
NOUN = ["cat", "dog", "bird", "fox", "child", "farmer", "teacher", "horse", "fish", "girl", "boy", "king"]
PLACE = ["mat", "hill", "river", "garden", "house", "tree", "road", "field", "bed", "boat", "table", "door"]
VERB_I = ["sat", "slept", "ran", "sang", "waited", "jumped", "danced", "stood"]
VERB_T = ["saw", "liked", "found", "followed", "helped", "heard", "watched", "fed"]
PREP = ["on", "near", "under", "by", "behind", "in"]
TIME = ["today", "yesterday", "at night", "in the morning", "again", "all day"]


def noun_phrase(rng: random.Random) -> str:
    words = [rng.choice(DET)]
    if rng.random() < 0.6:
        words.append(rng.choice(ADJ))
    words.append(rng.choice(NOUN))
    return " ".join(words)


def place_phrase(rng: random.Random) -> str:
    adj = f"{rng.choice(ADJ)} " if rng.random() < 0.4 else ""
    return f"{rng.choice(PREP)} the {adj}{rng.choice(PLACE)}"


def sentence(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        s = f"{noun_phrase(rng)} {rng.choice(VERB_I)} {place_phrase(rng)}"
    elif kind < 0.7:
        s = f"{noun_phrase(rng)} {rng.choice(VERB_T)} {noun_phrase(rng)}"
    elif kind < 0.85:
        s = f"{noun_phrase(rng)} {rng.choice(VERB_T)} {noun_phrase(rng)} {place_phrase(rng)}"
    else:
        n = noun_phrase(rng)
        s = f"{n} {rng.choice(VERB_I)} , and then {n} {rng.choice(VERB_I)} again"  # repeats: induction-friendly
    if rng.random() < 0.3:
        s += f" {rng.choice(TIME)}"
    return s + " ."


def make_corpus(n_sentences: int, seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    return [sentence(rng) for _ in range(n_sentences)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--sentences", type=int, default=6000)
    parser.add_argument("--out", type=Path, default=ROOT / "cli" / "models" / "weights" / "tiny-gpt2")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from safetensors.torch import save_file

    from mi_exercise.models.gpt2_tiny import WordTokenizer

    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # one thread: reproducible sums, and polite to a shared machine
    corpus = make_corpus(args.sentences)
    words = sorted({w for line in corpus for w in WordTokenizer.split(line)})
    tokenizer = WordTokenizer(["<eos>", "<unk>"] + words)
    ids = []
    for line in corpus:
        ids.extend(tokenizer.encode(line) + [tokenizer.eos_id])
    data = torch.tensor(ids)
    cfg = dict(CONFIG, d_vocab=len(tokenizer))
    n_ctx = cfg["n_ctx"]
    n_val = len(data) // 10
    train, val = data[:-n_val], data[-n_val:]
    print(f"corpus: {len(corpus)} sentences, {len(data)} tokens, vocabulary {len(tokenizer)}; config {cfg}")

    import importlib.util

    spec = importlib.util.spec_from_file_location("gpt2_solution", ROOT / "graders" / "gpt2" / "gpt2-model" / "solution.py")
    solution = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(solution)
    model = solution.GPT2(cfg)
    model.train()
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(SEED)

    def batch(source: torch.Tensor, size: int) -> torch.Tensor:
        starts = torch.randint(0, len(source) - n_ctx - 1, (size,), generator=gen)
        return torch.stack([source[s:s + n_ctx + 1] for s in starts.tolist()])

    def loss_on(chunk: torch.Tensor) -> torch.Tensor:
        logits = model(chunk[:, :-1])
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1))

    start = time.time()
    loss = torch.tensor(float("nan"))
    for step in range(1, args.steps + 1):
        lr = args.lr * min(1.0, step / 50) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        loss = loss_on(batch(train, args.batch))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 50 == 0 or step == 1:
            print(f"step {step:4d}  loss {loss.item():.3f}  lr {lr:.2e}  {time.time() - start:.0f}s", flush=True)
    model.eval()
    with torch.no_grad():
        windows = val[: (len(val) - 1) // n_ctx * n_ctx + 1]
        chunks = torch.stack([windows[i:i + n_ctx + 1] for i in range(0, len(windows) - n_ctx - 1, n_ctx)])
        val_loss = loss_on(chunks).item()
    print(f"final training loss {loss.item():.3f}, validation loss {val_loss:.3f} "
          f"(uniform guessing: {math.log(len(tokenizer)):.3f}); {time.time() - start:.0f}s")

    args.out.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, str(args.out / "model.safetensors"))
    meta = {
        "config": cfg,
        "architecture": "GPT-2 (pre-LayerNorm, learned positions, tanh GELU); weights in mi-exercise's learner layout",
        "training": {"script": "scripts/train_tiny_gpt2.py", "seed": SEED, "steps": args.steps, "batch": args.batch,
                     "lr": args.lr, "sentences": args.sentences, "tokens": len(data),
                     "final_train_loss": round(loss.item(), 4), "val_loss": round(val_loss, 4),
                     "torch": torch.__version__},
    }
    (args.out / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    (args.out / "tokenizer.json").write_text(json.dumps(tokenizer.to_json(), indent=1) + "\n")
    (args.out / "corpus.txt").write_text("\n".join(corpus) + "\n")
    print(f"saved to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
