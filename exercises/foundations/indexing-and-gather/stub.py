"""Indexing with integer tensors, gather, and numerically stable softmax-family functions.

Fill in each function, then run `mi-exercise check indexing-and-gather`.
Shapes are written in brackets; index tensors are int64. Keep results on the device of the
inputs (device=x.device when you create a tensor). Inputs may be non-contiguous views.

The last four functions are graded on logits as large as 1e4 (and as small as -1e4).
exp(1e4) is inf in float32 and exp(-1e4) is 0: a formula that exponentiates the raw logits
returns inf or NaN there. Only the values are graded, but write these four yourself
(torch.logsumexp / torch.softmax would teach you nothing).
"""

import torch


def pick_per_row(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """One entry from each row: x [rows, cols], idx [rows] -> [rows], out[i] = x[i, idx[i]]."""
    raise NotImplementedError("pick_per_row")


def gather_last(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Pick along the last axis: x [batch, seq, vocab], idx [batch, seq] -> [batch, seq],
    out[b, s] = x[b, s, idx[b, s]]. (This is "the log-probability of the correct next token".)"""
    raise NotImplementedError("gather_last")


def select_columns(x: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Columns cols [k] of x [rows, n], in that order (repeats allowed): [rows, k]."""
    raise NotImplementedError("select_columns")


def select_submatrix(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Every listed row crossed with every listed column: x [n, m], rows [r], cols [c] -> [r, c],
    out[i, j] = x[rows[i], cols[j]]."""
    raise NotImplementedError("select_submatrix")


def put_per_row(x: torch.Tensor, idx: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """A copy of x [rows, cols] with out[i, idx[i]] = values[i] (values [rows]); x itself must not change."""
    raise NotImplementedError("put_per_row")


def logsumexp(x: torch.Tensor) -> torch.Tensor:
    """log(sum(exp(x))) over the last axis: x [..., n] -> [...]. Stable for |x| up to 1e4.
    Entries may be -inf (masked), but never a whole row."""
    raise NotImplementedError("logsumexp")


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis: x [..., n] -> [..., n], each slice sums to 1. Stable for |x| up to 1e4."""
    raise NotImplementedError("softmax")


def log_softmax(x: torch.Tensor) -> torch.Tensor:
    """log(softmax(x)) over the last axis: x [..., n] -> [..., n]. Stable for |x| up to 1e4:
    the result is finite wherever x is, even where softmax(x) rounds to 0."""
    raise NotImplementedError("log_softmax")


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean negative log-probability of the targets: logits [batch, classes], targets [batch]
    (int64 class indices) -> a 0-dimensional tensor. Stable for |logits| up to 1e4."""
    raise NotImplementedError("cross_entropy")
