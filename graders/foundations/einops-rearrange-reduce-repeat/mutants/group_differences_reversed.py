"""group_differences subtracts the later group from the earlier one (sign flipped)."""


def group_differences(x: torch.Tensor, group: int) -> torch.Tensor:
    means = reduce(x, "b (n g) -> b n", "mean", g=group)
    return means[:, :-1] - means[:, 1:]
