"""einops: rearrange, reduce and repeat on images, batches of vectors and time series.

Fill in each function, then run `mi-exercise check einops-rearrange-reduce-repeat`.
Shapes are written in brackets: images [b, c, h, w] is a batch of b images with c channels,
h rows (height) and w columns (width). Only the values you return are graded, but every
function here is one einops call (or two), and that is the habit worth building:

    from einops import rearrange, reduce, repeat
    rearrange(x, "b c h w -> b h w c")             # move axes
    rearrange(x, "b c h w -> b (c h w)")           # merge axes
    rearrange(x, "b (n g) -> b n g", g=3)          # split an axis
    reduce(x, "b c h w -> b h w", "mean")          # average an axis away
    repeat(x, "n d -> (n k) d", k=2)               # copy along a new axis

Inputs may be non-contiguous views (slices, transposes): do not rely on .view().
"""

import torch
from einops import rearrange, reduce, repeat  # noqa: F401  (you will need them)


def channels_last(images: torch.Tensor) -> torch.Tensor:
    """images [b, c, h, w] -> [b, h, w, c] (the layout image libraries use)."""
    raise NotImplementedError("channels_last")


def transpose_images(images: torch.Tensor) -> torch.Tensor:
    """Transpose every image: images [b, c, h, w] -> [b, c, w, h], out[i, ch, x, y] = images[i, ch, y, x]."""
    raise NotImplementedError("transpose_images")


def flatten_images(images: torch.Tensor) -> torch.Tensor:
    """Flatten each image to one vector: images [b, c, h, w] -> [b, c*h*w], in (c h w) order
    (all of channel 0 row by row, then channel 1, ...)."""
    raise NotImplementedError("flatten_images")


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Split the last axis into attention heads.

    x [batch, seq, n_heads * d_head] -> [batch, n_heads, seq, d_head], where the last axis of x
    holds head 0's d_head values, then head 1's, and so on.
    """
    raise NotImplementedError("split_heads")


def merge_heads(z: torch.Tensor) -> torch.Tensor:
    """The inverse of split_heads: z [batch, n_heads, seq, d_head] -> [batch, seq, n_heads * d_head]."""
    raise NotImplementedError("merge_heads")


def image_grid(images: torch.Tensor, rows: int) -> torch.Tensor:
    """Tile n images into one picture with `rows` rows of n // rows images each.

    images [n, c, h, w] -> [c, rows * h, (n // rows) * w]. Image i sits in grid row
    i // (n // rows) and grid column i % (n // rows): images fill the grid row by row.
    n is a multiple of rows.
    """
    raise NotImplementedError("image_grid")


def grayscale(images: torch.Tensor) -> torch.Tensor:
    """Average the channels: images [b, c, h, w] -> [b, h, w]."""
    raise NotImplementedError("grayscale")


def max_pool(images: torch.Tensor, k: int) -> torch.Tensor:
    """Max over non-overlapping k x k blocks: images [b, c, h, w] -> [b, c, h // k, w // k].
    h and w are multiples of k."""
    raise NotImplementedError("max_pool")


def group_means(x: torch.Tensor, group: int) -> torch.Tensor:
    """Average consecutive groups of time steps (for example hours -> days).

    x [batch, time] -> [batch, time // group]; out[b, n] is the mean of
    x[b, n * group : (n + 1) * group]. time is a multiple of group.
    """
    raise NotImplementedError("group_means")


def group_differences(x: torch.Tensor, group: int) -> torch.Tensor:
    """Change from one group's mean to the next: x [batch, time] -> [batch, time // group - 1],
    out[b, n] = mean of group n + 1 minus mean of group n."""
    raise NotImplementedError("group_differences")


def repeat_rows(x: torch.Tensor, k: int) -> torch.Tensor:
    """Repeat each row k times in a row: x [n, d] -> [n * k, d], rows x0, x0, ..., x1, x1, ..."""
    raise NotImplementedError("repeat_rows")


def upsample(images: torch.Tensor, k: int) -> torch.Tensor:
    """Nearest-neighbour upsampling: every pixel becomes a k x k block.

    images [b, c, h, w] -> [b, c, h * k, w * k], out[i, ch, y, x] = images[i, ch, y // k, x // k].
    """
    raise NotImplementedError("upsample")


def normalize_rows(x: torch.Tensor) -> torch.Tensor:
    """Scale each row of x [n, d] to Euclidean length 1 (no row is all zeros): [n, d]."""
    raise NotImplementedError("normalize_rows")


def cosine_similarity_matrix(x: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every pair of rows: x [n, d] -> [n, n],
    out[i, j] = (x_i . x_j) / (|x_i| |x_j|). The diagonal is 1."""
    raise NotImplementedError("cosine_similarity_matrix")
