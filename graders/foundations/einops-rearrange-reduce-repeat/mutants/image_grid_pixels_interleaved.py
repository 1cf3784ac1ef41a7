"""image_grid puts the grid index after the pixel index ((h r), (w k)), so the images' pixels are
interleaved instead of each image staying a block."""


def image_grid(images: torch.Tensor, rows: int) -> torch.Tensor:
    return rearrange(images, "(r k) c h w -> c (h r) (w k)", r=rows)
