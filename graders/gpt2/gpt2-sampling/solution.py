"""GPT-2 from scratch, part 6: sampling and a KV cache.

The reference solution.
"""

import math

import torch
import torch.nn as nn


# ---------------------------------------------------------------------------------------------
# Your own parts from the earlier exercises, imported from your files beside this one. When
# this exercise is checked, the grader puts its reference versions under these names, so
# only the new part below is graded; the last exercise runs your own parts together.
# ---------------------------------------------------------------------------------------------

from gpt2_model import GPT2  # yours, from part 5


Cache = list[tuple[torch.Tensor, torch.Tensor]]


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """logits [batch, d_vocab] -> tokens [batch] (int64): the most likely token of each row."""
    return logits.argmax(dim=-1)


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """logits [batch, d_vocab] -> a new tensor, same shape: each row keeps its k largest logits,
    every other entry is -inf. k >= d_vocab keeps everything."""
    k = min(int(k), logits.shape[-1])
    kth_largest = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth_largest, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """logits [batch, d_vocab] -> a new tensor, same shape: each row keeps its nucleus, the
    smallest set of most likely tokens whose probabilities (softmax of the row) add up to at
    least p, the token that crosses p included; every other entry is -inf."""
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(dim=-1)
    before = probs.cumsum(dim=-1) - probs  # probability of the tokens ranked above this one
    drop_sorted = before >= p
    drop_sorted[..., 0] = False  # the most likely token always stays
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def sample(logits: torch.Tensor, seed: int, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None) -> torch.Tensor:
    """logits [batch, d_vocab] -> tokens [batch] (int64), one independent sample per row.

    temperature 0 is greedy. Otherwise: divide the logits by the temperature, apply top_k_filter
    and then top_p_filter when they are given, softmax, and draw with
    torch.multinomial using torch.Generator(device=logits.device).manual_seed(seed).
    """
    if temperature == 0:
        return greedy(logits)
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    probs = logits.softmax(dim=-1)
    generator = torch.Generator(device=logits.device).manual_seed(int(seed))
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def forward_with_cache(model: GPT2, tokens: torch.Tensor, cache: Cache | None = None) -> tuple[torch.Tensor, Cache]:
    """Run `model` on new tokens, reusing the keys and values of the tokens before them.

    tokens [batch, new_seq] (int64): the tokens that follow the ones already in the cache.
    cache: None (nothing before), or one (k, v) pair per layer, each [batch, past_seq, n_heads, d_head].
    Returns (logits [batch, new_seq, d_vocab], new cache with past_seq + new_seq positions);
    the logits equal model(all tokens so far)[:, past_seq:].
    """
    past = 0 if cache is None else cache[0][0].shape[1]
    seq = tokens.shape[1]
    residual = model.embed(tokens) + model.pos_embed.W_pos[past:past + seq]
    new_cache: Cache = []
    for i, block in enumerate(model.blocks):
        attn = block.attn
        x = block.ln1(residual)
        q = torch.einsum("bsd,hde->bshe", x, attn.W_Q) + attn.b_Q
        k = torch.einsum("bsd,hde->bshe", x, attn.W_K) + attn.b_K
        v = torch.einsum("bsd,hde->bshe", x, attn.W_V) + attn.b_V
        if cache is not None:
            k = torch.cat([cache[i][0], k], dim=1)
            v = torch.cat([cache[i][1], v], dim=1)
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(attn.d_head)
        # query i sits at position past + i: it may see keys 0 .. past + i
        future = torch.triu(torch.ones(seq, past + seq, dtype=torch.bool, device=tokens.device), diagonal=past + 1)
        pattern = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
        z = torch.einsum("bhqk,bkhe->bqhe", pattern, v)
        residual = residual + torch.einsum("bqhe,hed->bqd", z, attn.W_O) + attn.b_O
        residual = residual + block.mlp(block.ln2(residual))
        new_cache.append((k, v))
    return model.unembed(model.ln_final(residual)), new_cache


@torch.no_grad()
def generate(model: GPT2, prompt: torch.Tensor, max_new_tokens: int, seed: int = 0, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, use_cache: bool = True) -> torch.Tensor:
    """prompt [batch, seq] (int64) -> tokens [batch, seq + max_new_tokens]: the prompt followed by
    max_new_tokens tokens, the one of step i (0, 1, ...) drawn by
    sample(logits at the last position, seed + i, temperature, top_k, top_p).

    use_cache=True runs the prompt once and then one new token per step through
    forward_with_cache; use_cache=False runs the model on the whole sequence at every step.
    Both give the same tokens.
    """
    tokens = prompt
    cache = None
    new = prompt
    for i in range(max_new_tokens):
        if use_cache:
            logits, cache = forward_with_cache(model, new, cache)
        else:
            logits = model(tokens)
        new = sample(logits[:, -1], seed + i, temperature, top_k, top_p).unsqueeze(-1)
        tokens = torch.cat([tokens, new], dim=1)
    return tokens
