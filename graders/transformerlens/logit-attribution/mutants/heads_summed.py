"""head_outputs sums over the heads (one output per layer), losing the per-head resolution."""


def head_outputs(z: torch.Tensor, W_O: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bphd,hdm->bpm", z, W_O)
