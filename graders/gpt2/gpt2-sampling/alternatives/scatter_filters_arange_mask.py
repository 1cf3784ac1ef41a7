"""A whole learner file: top-k by scattering the kept logits into a -inf row, top-p by a shifted cumulative sum, the cache's mask from position comparisons and matmuls."""

import math

import torch

from gpt2_model import GPT2


def greedy(logits: torch.Tensor) -> torch.Tensor:
    return torch.max(logits, dim=-1).indices


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    values, indices = logits.topk(min(k, logits.shape[-1]), dim=-1)
    return torch.full_like(logits, float("-inf")).scatter(-1, indices, values)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    probs, order = logits.softmax(-1).sort(dim=-1, descending=True)
    mass_above = torch.cat([torch.zeros_like(probs[..., :1]), probs.cumsum(-1)[..., :-1]], dim=-1)
    keep_sorted = mass_above < p
    keep_sorted[..., 0] = True
    keep = keep_sorted.gather(-1, order.argsort(-1))
    return torch.where(keep, logits, torch.full_like(logits, float("-inf")))


def sample(logits, seed, temperature=1.0, top_k=None, top_p=None):
    if not temperature:
        return greedy(logits)
    scaled = logits / temperature
    scaled = scaled if top_k is None else top_k_filter(scaled, top_k)
    scaled = scaled if top_p is None else top_p_filter(scaled, top_p)
    gen = torch.Generator(device=logits.device).manual_seed(seed)
    return torch.multinomial(scaled.softmax(-1), 1, generator=gen).flatten()


def forward_with_cache(model, tokens, cache=None):
    with torch.no_grad():
        past = cache[0][0].shape[1] if cache else 0
        new = tokens.shape[1]
        x = model.embed(tokens) + model.pos_embed.W_pos[past:past + new].unsqueeze(0)
        q_pos = torch.arange(past, past + new, device=tokens.device)[:, None]
        k_pos = torch.arange(past + new, device=tokens.device)[None, :]
        hidden = k_pos > q_pos
        out_cache = []
        for layer, block in enumerate(model.blocks):
            a = block.attn
            h = block.ln1(x).unsqueeze(1)  # [batch, 1, new, d_model]
            q = (h @ a.W_Q + a.b_Q.unsqueeze(1)).transpose(1, 2)  # [batch, new, heads, d_head]
            k = (h @ a.W_K + a.b_K.unsqueeze(1)).transpose(1, 2)
            v = (h @ a.W_V + a.b_V.unsqueeze(1)).transpose(1, 2)
            if cache:
                k, v = torch.cat((cache[layer][0], k), 1), torch.cat((cache[layer][1], v), 1)
            out_cache.append((k, v))
            scores = q.transpose(1, 2) @ k.permute(0, 2, 3, 1) / math.sqrt(q.shape[-1])
            pattern = scores.masked_fill(hidden, float("-inf")).softmax(-1)
            z = pattern @ v.transpose(1, 2)  # [batch, heads, new, d_head]
            x = x + (z @ a.W_O).sum(1) + a.b_O
            x = x + block.mlp(block.ln2(x))
        return model.unembed(model.ln_final(x)), out_cache


def generate(model, prompt, max_new_tokens, seed=0, temperature=1.0, top_k=None, top_p=None, use_cache=True):
    with torch.no_grad():
        out = prompt
        logits, cache = (forward_with_cache(model, prompt) if use_cache else (model(prompt), None))
        for step in range(max_new_tokens):
            nxt = sample(logits[:, -1], seed + step, temperature, top_k, top_p)[:, None]
            out = torch.cat([out, nxt], dim=1)
            if step + 1 < max_new_tokens:
                logits, cache = forward_with_cache(model, nxt, cache) if use_cache else (model(out), None)
        return out
