"""Where the shipped induction model lives, and its config: shared by the TransformerBridge
loader (induction.py) and the numpy copy the site draws with (induction_numpy.py). Torch-free,
so the site can read it without importing torch."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights" / "attn-only-induction"
WEIGHTS_FILE = WEIGHTS_DIR / "model.safetensors"
CONFIG_FILE = WEIGHTS_DIR / "config.json"
TRAIN_HINT = "python scripts/train_induction_model.py"


class ModelUnavailable(RuntimeError):
    """The requested model's weights are not on this machine."""


@lru_cache(maxsize=1)
def model_info() -> dict:
    """The shipped config.json: model_config, bos_token, induction_heads, previous_token_heads,
    head_scores (per-head scores measured by the training script) and training details."""
    if not CONFIG_FILE.is_file():
        raise ModelUnavailable(
            f"the induction model's config is missing ({CONFIG_FILE}); the package was installed "
            f"without its weights. Re-install it, or train them with `{TRAIN_HINT}`."
        )
    return json.loads(CONFIG_FILE.read_text())
