"""GPT-2 from scratch, part 6: sampling and a KV cache.

Fill in each function, then run `mi-exercise check gpt2-sampling`.
Shapes are written in brackets: logits [batch, d_vocab].
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
    raise NotImplementedError("greedy")


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """logits [batch, d_vocab] -> a new tensor, same shape: each row keeps its k largest logits,
    every other entry is -inf. k >= d_vocab keeps everything."""
    raise NotImplementedError("top_k_filter")


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """logits [batch, d_vocab] -> a new tensor, same shape: each row keeps its nucleus, the
    smallest set of most likely tokens whose probabilities (softmax of the row) add up to at
    least p, the token that crosses p included; every other entry is -inf."""
    raise NotImplementedError("top_p_filter")


def sample(logits: torch.Tensor, seed: int, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None) -> torch.Tensor:
    """logits [batch, d_vocab] -> tokens [batch] (int64), one independent sample per row.

    temperature 0 is greedy. Otherwise: divide the logits by the temperature, apply top_k_filter
    and then top_p_filter when they are given, softmax, and draw with
    torch.multinomial using torch.Generator(device=logits.device).manual_seed(seed).
    """
    raise NotImplementedError("sample")


def forward_with_cache(model: GPT2, tokens: torch.Tensor, cache: Cache | None = None) -> tuple[torch.Tensor, Cache]:
    """Run `model` on new tokens, reusing the keys and values of the tokens before them.

    tokens [batch, new_seq] (int64): the tokens that follow the ones already in the cache.
    cache: None (nothing before), or one (k, v) pair per layer, each [batch, past_seq, n_heads, d_head].
    Returns (logits [batch, new_seq, d_vocab], new cache with past_seq + new_seq positions);
    the logits equal model(all tokens so far)[:, past_seq:].
    """
    raise NotImplementedError("forward_with_cache")


def generate(model: GPT2, prompt: torch.Tensor, max_new_tokens: int, seed: int = 0, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, use_cache: bool = True) -> torch.Tensor:
    """prompt [batch, seq] (int64) -> tokens [batch, seq + max_new_tokens]: the prompt followed by
    max_new_tokens tokens, the one of step i (0, 1, ...) drawn by
    sample(logits at the last position, seed + i, temperature, top_k, top_p).

    use_cache=True runs the prompt once and then one new token per step through
    forward_with_cache; use_cache=False runs the model on the whole sequence at every step.
    Both give the same tokens.
    """
    raise NotImplementedError("generate")
