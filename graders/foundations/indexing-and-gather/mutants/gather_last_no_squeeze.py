"""gather_last forgets to squeeze the gathered axis and returns [batch, seq, 1]."""


def gather_last(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return x.gather(-1, idx.unsqueeze(-1))
