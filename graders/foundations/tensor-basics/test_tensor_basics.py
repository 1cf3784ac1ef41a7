"""Grader for tensor-basics. Each test grades one function on seeded random inputs of several
shapes (a single row, non-square, non-contiguous views) plus the edge cases that catch slips."""

import torch

from mi_exercise.grading import assert_close, fail, name_known_mistake

SHAPES = [(1, 1), (1, 5), (4, 3), (7, 13)]


def randn(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def matrices():
    """(label, matrix) pairs: contiguous ones and a transposed (non-contiguous) view."""
    for i, shape in enumerate(SHAPES):
        yield f"x {list(shape)}", randn(i, *shape)
    yield "x [5, 6] (a transposed view)", randn(99, 6, 5).t()


def test_arange_grid(submission, reference):
    for rows, cols in [(1, 1), (2, 3), (3, 2), (4, 7)]:
        assert_close(submission.arange_grid(rows, cols), reference.arange_grid(rows, cols),
                     name=f"arange_grid({rows}, {cols})")


def test_diag_matrix(submission, reference, device):
    for n in [1, 3, 6]:
        v = randn(n, n)
        assert_close(submission.diag_matrix(v), reference.diag_matrix(v), name=f"diag_matrix(v [{n}])", device=device)
    v = torch.arange(4, dtype=torch.float64)
    assert_close(submission.diag_matrix(v), reference.diag_matrix(v), name="diag_matrix(float64 v [4])")


def test_every_other_row(submission, reference, device):
    for label, x in matrices():
        assert_close(submission.every_other_row(x), reference.every_other_row(x),
                     name=f"every_other_row({label})", device=device)


def test_select_rows(submission, reference, device):
    x = randn(3, 6, 4)
    for idx in [[0], [5, 0, 2], [1, 1, 3], [4, 3, 2, 1, 0]]:
        i = torch.tensor(idx)
        assert_close(submission.select_rows(x, i), reference.select_rows(x, i),
                     name=f"select_rows(x [6, 4], idx={idx})", device=device)


def test_mask_negative(submission, reference, device):
    for label, x in matrices():
        assert_close(submission.mask_negative(x), reference.mask_negative(x),
                     name=f"mask_negative({label})", device=device)


def test_add_row_vector(submission, reference, device):
    for i, (rows, cols) in enumerate(SHAPES):
        m, v = randn(i, rows, cols), randn(100 + i, cols)
        assert_close(submission.add_row_vector(m, v), reference.add_row_vector(m, v),
                     name=f"add_row_vector(m [{rows}, {cols}], v [{cols}])", device=device)


def test_outer_sum(submission, reference, device):
    for n, k in [(1, 1), (3, 5), (6, 2)]:
        a, b = randn(n, n), randn(10 + k, k)
        assert_close(submission.outer_sum(a, b), reference.outer_sum(a, b),
                     name=f"outer_sum(a [{n}], b [{k}])", device=device)


def test_row_means(submission, reference, device):
    for label, x in matrices():
        assert_close(submission.row_means(x), reference.row_means(x), name=f"row_means({label})", device=device)


def test_normalize_columns(submission, reference, device):
    for label, x in list(matrices())[2:]:  # one row has no spread; start at 4 rows
        x = x * 3 + 5
        got, expected = submission.normalize_columns(x), reference.normalize_columns(x)
        rows = x.shape[0]
        name_known_mistake(got, expected, [
            ((x - x.mean(dim=0)) / x.std(dim=0, unbiased=True),
             f"this divides by the sample standard deviation (rows - 1 = {rows - 1}: torch.std's default, "
             f"unbiased=True); the exercise asks for the population one, dividing by rows = {rows}: "
             "x.std(dim=0, unbiased=False) (or correction=0)"),
        ], name=f"normalize_columns({label})")
        assert_close(got, expected, name=f"normalize_columns({label})", device=device)


def test_argmax_per_row(submission, reference, device):
    for label, x in matrices():
        assert_close(submission.argmax_per_row(x), reference.argmax_per_row(x),
                     name=f"argmax_per_row({label})", device=device)


def test_inplace_vs_copy(submission, reference, device):
    x = randn(7, 3, 4)
    result = submission.scale_inplace.inplace(x, 2.5)
    if result.value is not None:
        fail("scale_inplace(x, 2.5) should return None: it changes x itself")
    assert_close(result.args_after[0], x * 2.5, name="x after scale_inplace(x, 2.5)", device=device)
    # scaled_copy must leave x untouched: the proxy fails the call if it changes its input.
    assert_close(submission.scaled_copy(x, 2.5), reference.scaled_copy(x, 2.5), name="scaled_copy(x, 2.5)", device=device)
