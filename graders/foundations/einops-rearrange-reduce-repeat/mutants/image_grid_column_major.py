"""image_grid splits n as (cols rows) instead of (rows cols), so images fill the grid column by column."""


def image_grid(images: torch.Tensor, rows: int) -> torch.Tensor:
    return rearrange(images, "(k r) c h w -> c (r h) (k w)", r=rows)
