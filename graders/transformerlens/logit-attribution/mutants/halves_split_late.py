"""attribution_by_half splits at token positions, not prediction positions: the halves are
attribution[:, :seq_len + 1] and attribution[:, seq_len + 1:], one row late."""


def attribution_by_half(attribution: torch.Tensor, seq_len: int) -> torch.Tensor:
    first = attribution[:, :seq_len + 1].mean(dim=(0, 1))
    second = attribution[:, seq_len + 1:].mean(dim=(0, 1))
    return torch.stack([first, second])
