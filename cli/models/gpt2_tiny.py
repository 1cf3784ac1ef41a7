"""The small GPT-2 the project ships: weights, config, a word-level tokenizer and its training text.

Trained by scripts/train_tiny_gpt2.py on a corpus of simple English sentences that the script
generates itself from a small grammar (so the project may redistribute it). Stored under
mi_exercise/models/weights/tiny-gpt2/:

    model.safetensors   weights in the learner's format (embed.W_E, blocks.0.attn.W_Q, ...)
    config.json         the learner config, plus the training run's settings and losses
    tokenizer.json      the word-level vocabulary
    corpus.txt          the training text (one sentence per line)

    from mi_exercise.models.gpt2_tiny import load_tiny, tiny_bridge
    cfg, state_dict, tokenizer = load_tiny()
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights" / "tiny-gpt2"
_WORD_RE = re.compile(r"[a-z]+|[.,!?]")


class WordTokenizer:
    """Lower-cases the text and splits it into words and punctuation; unknown words map to <unk>."""

    def __init__(self, vocab: list[str], unk: str = "<unk>", eos: str = "<eos>"):
        if len(set(vocab)) != len(vocab):
            raise ValueError("the vocabulary has duplicate entries")
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.unk, self.eos = unk, eos
        self.unk_id, self.eos_id = self.index[unk], self.index[eos]

    def __len__(self) -> int:
        return len(self.vocab)

    @staticmethod
    def split(text: str) -> list[str]:
        return _WORD_RE.findall(text.lower())

    def encode(self, text: str) -> list[int]:
        return [self.index.get(w, self.unk_id) for w in self.split(text)]

    def decode(self, ids) -> str:
        words = [self.vocab[int(i)] for i in ids]
        return re.sub(r" ([.,!?])", r"\1", " ".join(words))

    def to_json(self) -> dict:
        return {"type": "word-level", "vocab": self.vocab, "unk": self.unk, "eos": self.eos}

    @classmethod
    def from_json(cls, data: dict) -> "WordTokenizer":
        if data.get("type") != "word-level":
            raise ValueError(f"not a word-level tokenizer file (type {data.get('type')!r})")
        return cls(data["vocab"], data["unk"], data["eos"])


def load_tiny(folder: Path | None = None) -> tuple[dict, dict[str, torch.Tensor], WordTokenizer]:
    """(learner config, learner-format state dict, tokenizer) of the shipped tiny GPT-2."""
    from safetensors.torch import load_file

    folder = Path(folder or WEIGHTS_DIR)
    missing = [n for n in ("model.safetensors", "config.json", "tokenizer.json") if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(f"the tiny GPT-2 in {folder} is incomplete (missing {', '.join(missing)}); "
                                "rebuild it with: python scripts/train_tiny_gpt2.py")
    meta = json.loads((folder / "config.json").read_text())
    cfg = dict(meta["config"])
    sd = load_file(str(folder / "model.safetensors"))
    tokenizer = WordTokenizer.from_json(json.loads((folder / "tokenizer.json").read_text()))
    return cfg, sd, tokenizer


def load_corpus(folder: Path | None = None) -> list[str]:
    """The training text, one sentence per line."""
    return (Path(folder or WEIGHTS_DIR) / "corpus.txt").read_text().splitlines()


def tiny_bridge(cfg: dict, sd: dict[str, torch.Tensor]):
    """A TransformerLens bridge (native model) holding the given learner-format weights."""
    from mi_exercise.models import gpt2_reference

    bridge = gpt2_reference.boot_reference(cfg, randomize=False)
    gpt2_reference.load_learner_state_dict(bridge, sd)
    return bridge
