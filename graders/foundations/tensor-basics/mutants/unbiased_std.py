"""normalize_columns divides by the sample (n - 1) standard deviation."""


def normalize_columns(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean(dim=0)) / x.std(dim=0)
