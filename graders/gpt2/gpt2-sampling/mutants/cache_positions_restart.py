"""the KV cache gives new tokens the positions 0, 1, ... instead of past_seq, past_seq + 1, ..."""


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
    residual = model.embed(tokens) + model.pos_embed.W_pos[:seq]
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
