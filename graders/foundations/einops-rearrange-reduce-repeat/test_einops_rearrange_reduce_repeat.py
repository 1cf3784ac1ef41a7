"""Grader for einops-rearrange-reduce-repeat. Each test grades one function's values (not the
method) on seeded inputs of several shapes: batch 1, non-square images, odd sizes, and
non-contiguous views (slices and permutations) that a .view() based answer cannot handle."""

import torch
from einops import rearrange

from mi_exercise.grading import assert_close, name_known_mistake


def randn(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def image_batches():
    """(label, images [b, c, h, w]) pairs, including non-contiguous views."""
    for i, shape in enumerate([(1, 1, 1, 1), (1, 3, 4, 4), (2, 1, 5, 3), (4, 3, 2, 6)]):
        yield f"images {list(shape)}", randn(i, *shape)
    yield "images [2, 3, 3, 4] (a strided slice of a [2, 3, 6, 4] tensor)", randn(10, 2, 3, 6, 4)[:, :, ::2]
    yield "images [3, 2, 4, 5] (a permuted view)", randn(11, 3, 4, 5, 2).permute(0, 3, 1, 2)


def matrices():
    for i, shape in enumerate([(1, 4), (3, 3), (5, 2), (6, 9)]):
        yield f"x {list(shape)}", randn(20 + i, *shape)
    yield "x [4, 6] (a transposed view)", randn(30, 6, 4).t()


def test_channels_last(submission, reference, device):
    for label, x in image_batches():
        assert_close(submission.channels_last(x), reference.channels_last(x), name=f"channels_last({label})", device=device)


def test_transpose_images(submission, reference, device):
    for label, x in image_batches():
        assert_close(submission.transpose_images(x), reference.transpose_images(x),
                     name=f"transpose_images({label})", device=device)


def test_flatten_images(submission, reference, device):
    for label, x in image_batches():
        assert_close(submission.flatten_images(x), reference.flatten_images(x),
                     name=f"flatten_images({label}) (flatten in (c h w) order)", device=device)


def test_split_and_merge_heads(submission, reference, device):
    cases = [(1, 1, 1, 4), (2, 5, 3, 4), (3, 7, 4, 2), (1, 6, 12, 1)]
    for i, (b, s, heads, d) in enumerate(cases):
        x = randn(40 + i, b, s, heads * d)
        label = f"x [{b}, {s}, {heads * d}], n_heads={heads}"
        assert_close(submission.split_heads(x, heads), reference.split_heads(x, heads), name=f"split_heads({label})", device=device)
    x = randn(49, 2, 8, 6).transpose(0, 1)[:, :4]  # [8, 4, 6] non-contiguous
    assert_close(submission.split_heads(x, 3), reference.split_heads(x, 3),
                 name="split_heads(x [8, 4, 6] (non-contiguous view), n_heads=3)", device=device)
    for i, (b, s, heads, d) in enumerate(cases):
        z = randn(50 + i, b, heads, s, d)
        label = f"z [{b}, {heads}, {s}, {d}]"
        assert_close(submission.merge_heads(z), reference.merge_heads(z), name=f"merge_heads({label})", device=device)


def test_image_grid(submission, reference, device):
    cases = [(1, 1, (1, 2, 2)), (6, 2, (3, 4, 4)), (6, 3, (1, 2, 5)), (12, 4, (3, 3, 2)), (5, 5, (2, 3, 3))]
    for i, (n, rows, (c, h, w)) in enumerate(cases):
        x = randn(60 + i, n, c, h, w)
        got, expected = submission.image_grid(x, rows), reference.image_grid(x, rows)
        k = n // rows
        name_known_mistake(got, expected, [
            (rearrange(x, "(k r) c h w -> c (r h) (k w)", r=rows),
             f"the grid order is swapped: images fill it column by column (n split as (cols rows)). Image i belongs in "
             f"grid row i // {k} and column i % {k}: split n as (rows cols), '(r k) c h w -> c (r h) (k w)'"),
            (rearrange(x, "(r k) c h w -> c (h r) (w k)", r=rows),
             "the pixels of the images are interleaved ((h r), (w k)): each image must stay a block of h x w pixels, "
             "so the grid index goes first in each output axis: (r h) and (k w)"),
        ], name=f"image_grid(images [{n}, {c}, {h}, {w}], rows={rows})")
        assert_close(got, expected,
                     name=f"image_grid(images [{n}, {c}, {h}, {w}], rows={rows}) "
                          f"(image i goes to grid row i // {n // rows}, grid column i % {n // rows})", device=device)


def test_grayscale(submission, reference, device):
    for label, x in image_batches():
        assert_close(submission.grayscale(x), reference.grayscale(x), name=f"grayscale({label})", device=device)


def test_max_pool(submission, reference, device):
    cases = [((1, 1, 2, 2), 2), ((2, 3, 4, 6), 2), ((1, 2, 6, 3), 3), ((3, 1, 4, 8), 1), ((2, 2, 8, 4), 4)]
    for i, (shape, k) in enumerate(cases):
        x = randn(70 + i, *shape)
        assert_close(submission.max_pool(x, k), reference.max_pool(x, k),
                     name=f"max_pool(images {list(shape)}, k={k})", device=device)
    x = randn(79, 2, 6, 4, 3).permute(0, 3, 1, 2)  # [2, 3, 6, 4] non-contiguous
    assert_close(submission.max_pool(x, 2), reference.max_pool(x, 2),
                 name="max_pool(images [2, 3, 6, 4] (a permuted view), k=2)", device=device)


def series():
    for i, (b, t, g) in enumerate([(1, 4, 2), (3, 12, 3), (2, 10, 5), (4, 8, 1), (2, 6, 6)]):
        yield f"x [{b}, {t}], group={g}", randn(80 + i, b, t), g
    yield "x [3, 8] (a transposed view), group=4", randn(89, 8, 3).t(), 4


def test_group_means(submission, reference, device):
    for label, x, g in series():
        assert_close(submission.group_means(x, g), reference.group_means(x, g), name=f"group_means({label})", device=device)


def test_group_differences(submission, reference, device):
    trend = torch.arange(12, dtype=torch.float32).reshape(1, 12)
    assert_close(submission.group_differences(trend, 3), reference.group_differences(trend, 3),
                 name="group_differences(x = [[0, 1, ..., 11]], group=3) (a rising series: every difference is +3)",
                 device=device)
    for label, x, g in series():
        assert_close(submission.group_differences(x, g), reference.group_differences(x, g),
                     name=f"group_differences({label})", device=device)


def test_repeat_rows(submission, reference, device):
    for k in [1, 2, 3]:
        for label, x in matrices():
            assert_close(submission.repeat_rows(x, k), reference.repeat_rows(x, k),
                         name=f"repeat_rows({label}, k={k}) (each row k times in a row: r0, r0, r1, r1, ...)",
                         device=device)


def test_upsample(submission, reference, device):
    for k in [1, 2, 3]:
        for label, x in image_batches():
            assert_close(submission.upsample(x, k), reference.upsample(x, k), name=f"upsample({label}, k={k})", device=device)


def test_normalize_rows(submission, reference, device):
    for label, x in matrices():
        x = x * 5
        assert_close(submission.normalize_rows(x), reference.normalize_rows(x), name=f"normalize_rows({label})", device=device)


def test_cosine_similarity_matrix(submission, reference, device):
    for label, x in matrices():
        x = x * 3
        assert_close(submission.cosine_similarity_matrix(x), reference.cosine_similarity_matrix(x),
                     name=f"cosine_similarity_matrix({label})", device=device)
    x = torch.tensor([[1.0, 0.0], [10.0, 0.0], [0.0, -2.0], [3.0, 3.0]])
    assert_close(submission.cosine_similarity_matrix(x), reference.cosine_similarity_matrix(x),
                 name="cosine_similarity_matrix([[1, 0], [10, 0], [0, -2], [3, 3]]) (rows 0 and 1 point the "
                      "same way: similarity 1, whatever their lengths)", device=device)
