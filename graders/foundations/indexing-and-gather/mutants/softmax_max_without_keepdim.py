"""softmax takes the row max without keepdim=True, so the [rows] maxima broadcast along the wrong axis
(column j gets row j's max)."""


def softmax(x: torch.Tensor) -> torch.Tensor:
    m = x.max(dim=-1).values
    e = (x - m).exp()
    return e / e.sum(dim=-1, keepdim=True)
