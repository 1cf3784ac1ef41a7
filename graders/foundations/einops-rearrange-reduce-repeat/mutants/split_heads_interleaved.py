"""split_heads splits the last axis as (d_head heads) instead of (heads d_head), so heads take
interleaved features."""


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    return rearrange(x, "b s (d heads) -> b heads s d", heads=n_heads)
