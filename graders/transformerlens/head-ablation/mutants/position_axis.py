"""the head is indexed on the position axis, z[:, head], instead of the head axis z[:, :, head] (zero
and mean ablation)."""


def zero_ablate_head(z: torch.Tensor, head: int) -> torch.Tensor:
    z = z.clone()
    z[:, head] = 0.0
    return z


def mean_ablate_head(z: torch.Tensor, head: int, means: torch.Tensor) -> torch.Tensor:
    z = z.clone()
    z[:, head] = means[head]
    return z
