"""A whole learner file: the weights copied in parameter by parameter, and text generated without the cache (the same tokens, by the sampling exercise's contract)."""

import torch

from gpt2_model import GPT2
from gpt2_sampling import generate


def load_gpt2(cfg, state_dict):
    model = GPT2(cfg).eval()
    params = dict(model.named_parameters())
    assert set(params) == set(state_dict), set(params) ^ set(state_dict)
    with torch.no_grad():
        for name, value in state_dict.items():
            params[name].copy_(value)
    return model


def continue_tokens(model, prompt, max_new_tokens, seed=0, temperature=0.0, top_k=None, top_p=None):
    out = generate(model, torch.tensor(prompt).unsqueeze(0), max_new_tokens, seed, temperature, top_k, top_p,
                   use_cache=False)
    return list(map(int, out.squeeze(0)))
