"""attention_output reads the pattern as [.., seq_k, seq_q] ('bhkq'), i.e. weights the values with the
transposed pattern."""


def attention_output(pattern: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bhkq,bkhd->bqhd", pattern, v)
