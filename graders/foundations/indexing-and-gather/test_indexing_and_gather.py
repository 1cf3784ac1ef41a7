"""Grader for indexing-and-gather. Indexing functions are graded on seeded inputs of several
shapes (a single row, non-square, repeated indices, non-contiguous views). The softmax family is
graded on ordinary logits, on logits of magnitude 1e4 (where exp overflows to inf or underflows to
0 in float32), on rows at very different scales (where a single global max is not enough), and
on masked (-inf) entries."""

import torch

from mi_exercise.grading import assert_close, fail


def randn(seed: int, *shape: int, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def randint(seed: int, high: int, *shape: int) -> torch.Tensor:
    return torch.randint(0, high, shape, generator=torch.Generator().manual_seed(seed))


STABILITY = ("exp overflows to inf (or underflows to 0) at logits of magnitude 1e4. Subtract the max "
             "of each row (along the last axis, keepdim=True) before you exponentiate, and compute "
             "log-probabilities as x - logsumexp(x), never as log(softmax(x))")


def ordinary_logits():
    yield "x [5]", randn(0, 5) * 3
    yield "x [1, 1]", randn(1, 1, 1)
    yield "x [3, 7]", randn(2, 3, 7) * 3
    yield "x [2, 3, 5]", randn(3, 2, 3, 5) * 3
    yield "x [4, 6] (a transposed view)", (randn(4, 6, 4) * 3).t()
    yield "x [3, 4] float64", randn(5, 3, 4, dtype=torch.float64) * 3


def extreme_logits():
    yield "x [4, 6] * 1e4", randn(10, 4, 6) * 1e4
    yield "x [3, 5] = 1e4 + noise (all large and positive)", 1e4 + randn(11, 3, 5)
    yield "x [3, 5] = -1e4 + noise (all large and negative)", -1e4 + randn(12, 3, 5)
    mixed = randn(13, 4, 5)
    mixed[0] += 1e4
    mixed[2] -= 1e4
    yield "x [4, 5] with row 0 near +1e4, row 2 near -1e4 and rows 1, 3 near 0 (each row needs its own max)", mixed
    yield "x [2, 3, 4] * 1e4 (batched)", randn(14, 2, 3, 4) * 1e4


def masked_logits():
    x = randn(20, 3, 6) * 2
    x[0, 1] = x[1, 0] = x[1, 5] = x[2, 2] = float("-inf")
    yield "x [3, 6] with some entries -inf (masked)", x
    causal = torch.full((4, 4), float("-inf")).triu(1) + randn(21, 4, 4)
    yield "x [4, 4] with a causal mask (-inf above the diagonal)", causal


def close(actual, expected, name, device, extreme=False, rtol=None, atol=None):
    if isinstance(actual, torch.Tensor) and actual.is_floating_point() and actual.shape == expected.shape:
        bad = ~torch.isfinite(actual) & torch.isfinite(expected)
        if bad.any():
            where = tuple(int(i) for i in bad.nonzero()[0])
            kind = "NaN" if torch.isnan(actual[where]) else str(actual[where].item())
            fail(f"{name}: {kind} at index {where} where {expected[where].item():.6g} was expected: "
                 + (STABILITY if extreme else "a log of 0 or a division by 0?"))
    assert_close(actual, expected, name=name, device=device, rtol=rtol, atol=atol)


def test_pick_per_row(submission, reference, device):
    for i, (rows, cols) in enumerate([(1, 1), (1, 5), (4, 4), (6, 3)]):
        x, idx = randn(30 + i, rows, cols), randint(40 + i, cols, rows)
        close(submission.pick_per_row(x, idx), reference.pick_per_row(x, idx),
              f"pick_per_row(x [{rows}, {cols}], idx={idx.tolist()}) (one entry per row)", device)
    x, idx = randn(49, 5, 3).t(), torch.tensor([4, 0, 4])
    close(submission.pick_per_row(x, idx), reference.pick_per_row(x, idx),
          "pick_per_row(x [3, 5] (a transposed view), idx=[4, 0, 4])", device)


def test_gather_last(submission, reference, device):
    for i, (b, s, v) in enumerate([(1, 1, 1), (1, 4, 7), (3, 5, 2), (2, 3, 10)]):
        x, idx = randn(50 + i, b, s, v), randint(60 + i, v, b, s)
        close(submission.gather_last(x, idx), reference.gather_last(x, idx),
              f"gather_last(x [{b}, {s}, {v}], idx [{b}, {s}]) -> [batch, seq]", device)
    x, idx = randn(69, 2, 8, 6).transpose(1, 2)[:, :, ::2], randint(70, 4, 2, 6)
    close(submission.gather_last(x, idx), reference.gather_last(x, idx),
          "gather_last(x [2, 6, 4] (a non-contiguous view), idx [2, 6])", device)


def test_select_columns(submission, reference, device):
    x = randn(80, 4, 6)
    for cols in [[0], [5, 1], [2, 2, 3], [5, 4, 3, 2, 1, 0, 0]]:
        c = torch.tensor(cols)
        close(submission.select_columns(x, c), reference.select_columns(x, c),
              f"select_columns(x [4, 6], cols={cols})", device)
    x = randn(81, 7, 3).t()
    c = torch.tensor([6, 0, 3])
    close(submission.select_columns(x, c), reference.select_columns(x, c),
          "select_columns(x [3, 7] (a transposed view), cols=[6, 0, 3])", device)


def test_select_submatrix(submission, reference, device):
    x = randn(90, 5, 6)
    for rows, cols in [([0], [0]), ([1, 3], [0, 2]), ([4, 0, 2], [5, 1]), ([2], [0, 1, 2, 3]), ([3, 3, 1], [4, 4, 0])]:
        r, c = torch.tensor(rows), torch.tensor(cols)
        close(submission.select_submatrix(x, r, c), reference.select_submatrix(x, r, c),
              f"select_submatrix(x [5, 6], rows={rows}, cols={cols}) -> [{len(rows)}, {len(cols)}] "
              "(every listed row crossed with every listed column)", device)


def test_put_per_row(submission, reference, device):
    for i, (rows, cols) in enumerate([(1, 1), (3, 4), (5, 2)]):
        x, idx, vals = randn(100 + i, rows, cols), randint(110 + i, cols, rows), randn(120 + i, rows) + 10
        # the proxy fails the call if x is changed in place
        close(submission.put_per_row(x, idx, vals), reference.put_per_row(x, idx, vals),
              f"put_per_row(x [{rows}, {cols}], idx={idx.tolist()}, values [{rows}])", device)
    x, idx, vals = randn(129, 4, 3).t(), torch.tensor([0, 3, 3]), torch.tensor([7.0, 8.0, 9.0])
    close(submission.put_per_row(x, idx, vals), reference.put_per_row(x, idx, vals),
          "put_per_row(x [3, 4] (a transposed view), idx=[0, 3, 3], values=[7, 8, 9])", device)


def test_logsumexp(submission, reference, device):
    for label, x in ordinary_logits():
        close(submission.logsumexp(x), reference.logsumexp(x), f"logsumexp({label})", device)
    for label, x in masked_logits():
        close(submission.logsumexp(x), reference.logsumexp(x), f"logsumexp({label})", device)
    for label, x in extreme_logits():
        close(submission.logsumexp(x), reference.logsumexp(x), f"logsumexp({label})", device, extreme=True, atol=4e-3)


def test_softmax(submission, reference, device):
    for label, x in [*ordinary_logits(), *masked_logits()]:
        close(submission.softmax(x), reference.softmax(x), f"softmax({label})", device)
    for label, x in extreme_logits():
        close(submission.softmax(x), reference.softmax(x), f"softmax({label})", device, extreme=True, rtol=2e-3, atol=1e-5)


def test_log_softmax(submission, reference, device):
    for label, x in [*ordinary_logits(), *masked_logits()]:
        close(submission.log_softmax(x), reference.log_softmax(x), f"log_softmax({label})", device)
    for label, x in extreme_logits():
        close(submission.log_softmax(x), reference.log_softmax(x), f"log_softmax({label})", device, extreme=True, atol=4e-3)


def test_cross_entropy(submission, reference, device):
    logits, targets = torch.zeros(2, 4), torch.tensor([0, 3])
    close(submission.cross_entropy(logits, targets), reference.cross_entropy(logits, targets),
          "cross_entropy(zeros [2, 4], targets=[0, 3]) (uniform predictions: log 4 = 1.386)", device)
    for i, (b, c) in enumerate([(1, 1), (1, 5), (4, 3), (8, 10)]):
        logits, targets = randn(130 + i, b, c) * 3, randint(140 + i, c, b)
        close(submission.cross_entropy(logits, targets), reference.cross_entropy(logits, targets),
              f"cross_entropy(logits [{b}, {c}], targets [{b}])", device)
    logits, targets = (randn(149, 6, 5) * 3).t(), torch.tensor([5, 0, 2, 2, 1])
    close(submission.cross_entropy(logits, targets), reference.cross_entropy(logits, targets),
          "cross_entropy(logits [5, 6] (a transposed view), targets [5])", device)
    for i, (label, logits) in enumerate(extreme_logits()):
        if logits.dim() != 2:
            continue
        targets = randint(150 + i, logits.shape[1], logits.shape[0])
        close(submission.cross_entropy(logits, targets), reference.cross_entropy(logits, targets),
              f"cross_entropy(logits {label}, targets={targets.tolist()})", device, extreme=True, atol=4e-3)
