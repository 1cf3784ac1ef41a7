"""mean_ablate_head writes the means into the z it is given and returns it (no clone): ablating a
cached activation corrupts the cache."""


def mean_ablate_head(z: torch.Tensor, head: int, means: torch.Tensor) -> torch.Tensor:
    z[:, :, head] = means[head]
    return z
