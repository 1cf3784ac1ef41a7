"""GPT-2 from scratch, part 6: sampling and a KV cache.

Mutant: with a cache, the causal mask is only applied when there is no cache (fine for one new token, wrong for several).
"""

import math

import torch
import torch.nn as nn


# ---------------------------------------------------------------------------------------------
# Given: the components from the earlier exercises (the reference versions, so that this
# exercise grades only its new part). You may paste your own versions over them.
# ---------------------------------------------------------------------------------------------


class LayerNorm(nn.Module):
    """LayerNorm over the last dimension, with a learned scale w and shift b (both [d_model])."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.eps = cfg["layer_norm_eps"]
        self.w = nn.Parameter(torch.ones(cfg["d_model"]))
        self.b = nn.Parameter(torch.zeros(cfg["d_model"]))

    def forward(self, residual: torch.Tensor) -> torch.Tensor:
        """residual [batch, seq, d_model] -> normalized [batch, seq, d_model]."""
        mean = residual.mean(dim=-1, keepdim=True)
        var = residual.var(dim=-1, keepdim=True, unbiased=False)
        return (residual - mean) / torch.sqrt(var + self.eps) * self.w + self.b


class Embed(nn.Module):
    """Token embedding: W_E [d_vocab, d_model]."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.W_E = nn.Parameter(torch.empty(cfg["d_vocab"], cfg["d_model"]))
        nn.init.normal_(self.W_E, std=cfg["init_range"])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, seq] (int64) -> embeddings [batch, seq, d_model]."""
        return self.W_E[tokens]


class PosEmbed(nn.Module):
    """Learned positional embedding: W_pos [n_ctx, d_model]."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.W_pos = nn.Parameter(torch.empty(cfg["n_ctx"], cfg["d_model"]))
        nn.init.normal_(self.W_pos, std=cfg["init_range"])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, seq] -> positional embeddings [batch, seq, d_model]: row p of W_pos at position p."""
        batch, seq = tokens.shape
        return self.W_pos[:seq].unsqueeze(0).expand(batch, seq, -1)


class Unembed(nn.Module):
    """Unembedding: W_U [d_model, d_vocab] and b_U [d_vocab]."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.W_U = nn.Parameter(torch.empty(cfg["d_model"], cfg["d_vocab"]))
        nn.init.normal_(self.W_U, std=cfg["init_range"])
        self.b_U = nn.Parameter(torch.zeros(cfg["d_vocab"]))

    def forward(self, normalized_resid_final: torch.Tensor) -> torch.Tensor:
        """normalized_resid_final [batch, seq, d_model] -> logits [batch, seq, d_vocab]."""
        return normalized_resid_final @ self.W_U + self.b_U


class Attention(nn.Module):
    """Causal multi-head self-attention with per-head weights.

    W_Q, W_K, W_V [n_heads, d_model, d_head]; b_Q, b_K, b_V [n_heads, d_head];
    W_O [n_heads, d_head, d_model]; b_O [d_model].
    """

    def __init__(self, cfg: dict):
        super().__init__()
        n_heads, d_model, d_head = cfg["n_heads"], cfg["d_model"], cfg["d_head"]
        self.d_head = d_head
        self.W_Q = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_K = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_V = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_O = nn.Parameter(torch.empty(n_heads, d_head, d_model))
        for w in (self.W_Q, self.W_K, self.W_V, self.W_O):
            nn.init.normal_(w, std=cfg["init_range"])
        self.b_Q = nn.Parameter(torch.zeros(n_heads, d_head))
        self.b_K = nn.Parameter(torch.zeros(n_heads, d_head))
        self.b_V = nn.Parameter(torch.zeros(n_heads, d_head))
        self.b_O = nn.Parameter(torch.zeros(d_model))

    def apply_causal_mask(self, attn_scores: torch.Tensor) -> torch.Tensor:
        """attn_scores [batch, n_heads, seq_q, seq_k] (seq_q == seq_k) -> a new tensor, same shape,
        with every entry whose key comes after its query (k > q) set to -inf."""
        seq_q, seq_k = attn_scores.shape[-2:]
        future = torch.triu(torch.ones(seq_q, seq_k, dtype=torch.bool, device=attn_scores.device), diagonal=1)
        return attn_scores.masked_fill(future, float("-inf"))

    def attention_pattern(self, normalized_resid_pre: torch.Tensor) -> torch.Tensor:
        """normalized_resid_pre [batch, seq, d_model] -> pattern [batch, n_heads, seq_q, seq_k]:
        softmax over keys of the masked, scaled scores; each row sums to 1."""
        q = torch.einsum("bsd,hde->bshe", normalized_resid_pre, self.W_Q) + self.b_Q
        k = torch.einsum("bsd,hde->bshe", normalized_resid_pre, self.W_K) + self.b_K
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(self.d_head)
        return self.apply_causal_mask(scores).softmax(dim=-1)

    def forward(self, normalized_resid_pre: torch.Tensor) -> torch.Tensor:
        """normalized_resid_pre [batch, seq, d_model] -> attention output [batch, seq, d_model]."""
        pattern = self.attention_pattern(normalized_resid_pre)
        v = torch.einsum("bsd,hde->bshe", normalized_resid_pre, self.W_V) + self.b_V
        z = torch.einsum("bhqk,bkhe->bqhe", pattern, v)
        return torch.einsum("bqhe,hed->bqd", z, self.W_O) + self.b_O


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's GELU, the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


class MLP(nn.Module):
    """W_in [d_model, d_mlp], b_in [d_mlp], W_out [d_mlp, d_model], b_out [d_model]."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.W_in = nn.Parameter(torch.empty(cfg["d_model"], cfg["d_mlp"]))
        self.W_out = nn.Parameter(torch.empty(cfg["d_mlp"], cfg["d_model"]))
        nn.init.normal_(self.W_in, std=cfg["init_range"])
        nn.init.normal_(self.W_out, std=cfg["init_range"])
        self.b_in = nn.Parameter(torch.zeros(cfg["d_mlp"]))
        self.b_out = nn.Parameter(torch.zeros(cfg["d_model"]))

    def forward(self, normalized_resid_mid: torch.Tensor) -> torch.Tensor:
        """normalized_resid_mid [batch, seq, d_model] -> mlp output [batch, seq, d_model]."""
        return gelu_new(normalized_resid_mid @ self.W_in + self.b_in) @ self.W_out + self.b_out


class TransformerBlock(nn.Module):
    """Pre-LayerNorm block: ln1, attn, ln2, mlp (submodules with these names)."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.ln1 = LayerNorm(cfg)
        self.attn = Attention(cfg)
        self.ln2 = LayerNorm(cfg)
        self.mlp = MLP(cfg)

    def forward(self, resid_pre: torch.Tensor) -> torch.Tensor:
        """resid_pre [batch, seq, d_model] -> resid_post [batch, seq, d_model]."""
        resid_mid = resid_pre + self.attn(self.ln1(resid_pre))
        return resid_mid + self.mlp(self.ln2(resid_mid))


class GPT2(nn.Module):
    """The whole model: embed, pos_embed, blocks (an nn.ModuleList of n_layers TransformerBlocks),
    ln_final, unembed (submodules with these names)."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = dict(cfg)
        self.embed = Embed(cfg)
        self.pos_embed = PosEmbed(cfg)
        self.blocks = nn.ModuleList([TransformerBlock(cfg) for _ in range(cfg["n_layers"])])
        self.ln_final = LayerNorm(cfg)
        self.unembed = Unembed(cfg)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, seq] (int64) -> logits [batch, seq, d_vocab]."""
        residual = self.embed(tokens) + self.pos_embed(tokens)
        for block in self.blocks:
            residual = block(residual)
        return self.unembed(self.ln_final(residual))


# ---------------------------------------------------------------------------------------------
# Your part: fill in the functions below.
# ---------------------------------------------------------------------------------------------

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
        if cache is None:
            scores = scores.masked_fill(future, float("-inf"))
        pattern = scores.softmax(dim=-1)
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
