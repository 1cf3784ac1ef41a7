"""repeat_rows tiles the whole matrix k times (x0, x1, ..., x0, x1, ...) instead of repeating each row
in place: '(k n)' for '(n k)'."""


def repeat_rows(x: torch.Tensor, k: int) -> torch.Tensor:
    return repeat(x, "n d -> (k n) d", k=k)
