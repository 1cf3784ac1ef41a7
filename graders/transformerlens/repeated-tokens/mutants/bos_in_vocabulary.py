"""generate_repeated_tokens draws from every id, BOS included."""


def generate_repeated_tokens(seq_len: int, batch: int = 1, seed: int = 0, d_vocab: int = 128, bos: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    seq = torch.randint(0, d_vocab, (batch, seq_len), generator=gen)
    first = torch.full((batch, 1), bos, dtype=torch.long)
    return torch.cat([first, seq, seq], dim=1)
