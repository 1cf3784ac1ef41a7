"""GPT-2 from scratch, part 8: your own GPT-2, end to end.

The reference solution.
"""

import torch

from gpt2_model import GPT2  # yours, from part 5 (built from your parts 1-4)
from gpt2_sampling import generate  # yours, from part 6


def load_gpt2(cfg: dict, state_dict: dict) -> GPT2:
    """Your GPT2(cfg) holding the weights state_dict (every GPT-2 parameter, by name), in eval mode.

    A buffer of your own (a causal mask, an IGNORE constant) is not among GPT-2's weights: load with
    strict=False and make sure that only such buffers are missing (result.missing_keys)."""
    model = GPT2(cfg)
    # strict=False: a buffer of your own (a mask, an IGNORE constant) is not among GPT-2's weights
    result = model.load_state_dict(state_dict, strict=False)
    buffers = {name for name, _ in model.named_buffers()}
    missing = [k for k in result.missing_keys if k not in buffers]
    if missing or result.unexpected_keys:
        raise ValueError(f"the weights do not fit: missing {missing}, unexpected {result.unexpected_keys}")
    return model.eval()


def continue_tokens(model: GPT2, prompt: list[int], max_new_tokens: int, seed: int = 0, temperature: float = 0.0,
                    top_k: int | None = None, top_p: float | None = None) -> list[int]:
    """prompt: the token ids of one text -> a list of ints, the prompt followed by max_new_tokens
    new tokens drawn by your generate (with the KV cache) with this seed, temperature, top_k, top_p."""
    device = next(model.parameters()).device
    tokens = torch.tensor([list(prompt)], dtype=torch.long, device=device)
    out = generate(model, tokens, max_new_tokens, seed=seed, temperature=temperature, top_k=top_k, top_p=top_p,
                   use_cache=True)
    return [int(t) for t in out[0].tolist()]
