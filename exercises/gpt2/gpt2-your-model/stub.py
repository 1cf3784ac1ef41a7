"""GPT-2 from scratch, part 8: your own GPT-2, end to end.

Fill in the two functions, then run `mi-exercise check gpt2-your-model`. Unlike the earlier
checks, this one runs YOUR earlier files: your GPT2 (built from your LayerNorm, embeddings,
Attention, MLP and block) and your generate.
"""

import torch

from gpt2_model import GPT2  # yours, from part 5 (built from your parts 1-4)
from gpt2_sampling import generate  # yours, from part 6


def load_gpt2(cfg: dict, state_dict: dict) -> GPT2:
    """Your GPT2(cfg) holding the weights state_dict (every GPT-2 parameter, by name), in eval mode.

    A buffer of your own (a causal mask, an IGNORE constant) is not among GPT-2's weights: load with
    strict=False and make sure that only such buffers are missing (result.missing_keys)."""
    raise NotImplementedError("load_gpt2")


def continue_tokens(model: GPT2, prompt: list[int], max_new_tokens: int, seed: int = 0, temperature: float = 0.0,
                    top_k: int | None = None, top_p: float | None = None) -> list[int]:
    """prompt: the token ids of one text -> a list of ints, the prompt followed by max_new_tokens
    new tokens drawn by your generate (with the KV cache) with this seed, temperature, top_k, top_p."""
    raise NotImplementedError("continue_tokens")
