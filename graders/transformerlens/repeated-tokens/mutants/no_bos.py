"""generate_repeated_tokens does not prepend BOS: it returns seq + seq."""


def generate_repeated_tokens(seq_len: int, batch: int = 1, seed: int = 0, d_vocab: int = 128, bos: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    seq = torch.randint(0, d_vocab - 1, (batch, seq_len), generator=gen)
    seq = seq + (seq >= bos).long()  # skip the BOS id
    first = torch.full((batch, 1), bos, dtype=torch.long)
    return torch.cat([seq, seq], dim=1)
