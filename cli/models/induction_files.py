"""Where the shipped attention-only models live, and their configs: shared by the TransformerBridge
loader (induction.py) and the numpy code the site draws with (induction_numpy.py). Torch-free,
so the site can read it without importing torch.

Every shipped model is trained by scripts/train_induction_model.py --model NAME into
weights/NAME/ (model.safetensors and config.json):
  attn-only-induction    the TransformerLens chapter's model (the default everywhere)
  attn-only-circuits     the circuits chapter's model: n_ctx 96, previous-token heads clear at seq_len 40+
  attn-only-circuits-3l  the same recipe with 3 layers and another seed: its heads sit elsewhere
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DEFAULT_MODEL = "attn-only-induction"
SHIPPED_MODELS = ("attn-only-induction", "attn-only-circuits", "attn-only-circuits-3l")
WEIGHTS_ROOT = Path(__file__).resolve().parent / "weights"


class ModelUnavailable(RuntimeError):
    """The requested model's weights are not on this machine."""


def _known(name: str) -> str:
    if name not in SHIPPED_MODELS:
        raise ValueError(f"unknown shipped model {name!r}: use one of {', '.join(SHIPPED_MODELS)}")
    return name


def weights_dir(name: str = DEFAULT_MODEL) -> Path:
    return WEIGHTS_ROOT / _known(name)


def weights_file(name: str = DEFAULT_MODEL) -> Path:
    return weights_dir(name) / "model.safetensors"


def config_file(name: str = DEFAULT_MODEL) -> Path:
    return weights_dir(name) / "config.json"


def train_hint(name: str = DEFAULT_MODEL) -> str:
    return "python scripts/train_induction_model.py" + ("" if name == DEFAULT_MODEL else f" --model {name}")


# the default (TransformerLens chapter's) model's files, under the names its users import
WEIGHTS_DIR = weights_dir()
WEIGHTS_FILE = weights_file()
CONFIG_FILE = config_file()
TRAIN_HINT = train_hint()


@lru_cache(maxsize=None)
def model_info(name: str = DEFAULT_MODEL) -> dict:
    """A shipped model's config.json: model_config, bos_token, induction_heads, previous_token_heads,
    head_scores (per-head scores measured by the training script) and training details."""
    path = config_file(name)
    if not path.is_file():
        raise ModelUnavailable(
            f"the {name} model's config is missing ({path}); the package was installed "
            f"without its weights. Re-install it, or train them with `{train_hint(name)}`."
        )
    return json.loads(path.read_text())
