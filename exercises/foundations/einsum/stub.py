"""einsum: products and contractions written as index patterns.

Fill in each function, then run `mi-exercise check einsum`.
Shapes are written in brackets: a [m, n] is a matrix with m rows and n columns.
Only the values you return are graded, but each function is meant to be a single
torch.einsum (or einops.einsum) call; say the pattern out loud before you write it:

    torch.einsum("ij,jk->ik", a, b)    # indices that appear in the inputs but not after "->"
                                       # are summed over; the rest index the output
    einops.einsum(a, b, "i j, j k -> i k")   # the same, with names of any length

Results keep the dtype and device of the inputs. Inputs may be non-contiguous views.
"""

import torch


def trace(a: torch.Tensor) -> torch.Tensor:
    """Sum of the diagonal of a square matrix a [n, n]: a 0-dimensional tensor."""
    raise NotImplementedError("trace")


def mat_vec(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Matrix times vector: a [m, n], v [n] -> [m], out[i] = sum_j a[i, j] v[j]."""
    raise NotImplementedError("mat_vec")


def mat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Matrix product: a [m, n], b [n, p] -> [m, p]."""
    raise NotImplementedError("mat_mul")


def inner(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Inner (dot) product of u [n] and v [n]: a 0-dimensional tensor."""
    raise NotImplementedError("inner")


def outer(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Outer product: u [m], v [n] -> [m, n], out[i, j] = u[i] v[j]."""
    raise NotImplementedError("outer")


def batched_mat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """One matrix product per batch element: a [batch, m, n], b [batch, n, p] -> [batch, m, p]."""
    raise NotImplementedError("batched_mat_mul")


def batched_inner(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Row-wise dot products: u [batch, n], v [batch, n] -> [batch], out[b] = u[b] . v[b]."""
    raise NotImplementedError("batched_inner")


def bilinear(x: torch.Tensor, w: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The bilinear form x^T W y for each batch element:
    x [batch, m], w [m, n], y [batch, n] -> [batch], out[b] = sum_ij x[b, i] w[i, j] y[b, j]."""
    raise NotImplementedError("bilinear")


def attention_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Attention scores: the dot product of every query with every key, per head.

    q [batch, seq_q, heads, d_head], k [batch, seq_k, heads, d_head]
    -> scores [batch, heads, seq_q, seq_k], scores[b, h, i, j] = q[b, i, h] . k[b, j, h].
    (No scaling and no softmax here.)
    """
    raise NotImplementedError("attention_scores")


def attention_output(pattern: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Mix the values with the attention pattern, per head.

    pattern [batch, heads, seq_q, seq_k], v [batch, seq_k, heads, d_head]
    -> z [batch, seq_q, heads, d_head], z[b, i, h] = sum_j pattern[b, h, i, j] v[b, j, h].
    """
    raise NotImplementedError("attention_output")
