"""flatten_images flattens in (h w c) order, interleaving the channels pixel by pixel."""


def flatten_images(images: torch.Tensor) -> torch.Tensor:
    return rearrange(images, "b c h w -> b (h w c)")
