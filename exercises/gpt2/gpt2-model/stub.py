"""GPT-2 from scratch, part 5: the whole model.

Fill in each function and method, then run `mi-exercise check gpt2-model`.
Shapes are written in brackets: x [batch, seq, d_model].
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


# ---------------------------------------------------------------------------------------------
# Your part: fill in the classes and functions below.
# ---------------------------------------------------------------------------------------------


class GPT2(nn.Module):
    """The whole model: embed, pos_embed, blocks (an nn.ModuleList of n_layers TransformerBlocks),
    ln_final, unembed (submodules with these names)."""

    def __init__(self, cfg: dict):
        super().__init__()
        raise NotImplementedError("GPT2.__init__")

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, seq] (int64) -> logits [batch, seq, d_vocab]."""
        raise NotImplementedError("GPT2.forward")
