"""find_induction_heads returns [head, layer] pairs."""


def find_induction_heads(scores: torch.Tensor, threshold: float = 0.4) -> list[list[int]]:
    return [[head, layer] for layer, head in (scores > threshold).nonzero().tolist()]
