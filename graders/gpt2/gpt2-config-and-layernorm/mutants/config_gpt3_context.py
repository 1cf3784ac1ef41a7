"""GPT2_SMALL has GPT-3's context length, 2048, instead of GPT-2's 1024."""


GPT2_SMALL = {
    "d_model": 768,  # width of the residual stream
    "n_heads": 12,  # attention heads per layer
    "d_head": 64,  # width of one head's queries, keys and values
    "d_mlp": 3072,  # hidden width of the MLP
    "n_layers": 12,  # transformer blocks
    "n_ctx": 2048,  # longest sequence (number of positional embeddings)
    "d_vocab": 50257,  # tokens in the vocabulary
    "layer_norm_eps": 1e-5,  # the epsilon added to the variance in LayerNorm
    "init_range": 0.02,  # standard deviation of the initial weights
}
