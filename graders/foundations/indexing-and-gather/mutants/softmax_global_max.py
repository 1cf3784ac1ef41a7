"""softmax subtracts the max of the whole tensor instead of each row's max: rows far below it underflow
to 0/0 = NaN."""


def softmax(x: torch.Tensor) -> torch.Tensor:
    m = x.max()
    e = (x - m).exp()
    return e / e.sum(dim=-1, keepdim=True)
