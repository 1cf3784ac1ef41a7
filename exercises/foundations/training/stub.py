"""Training: linear regression by gradient descent, then an MLP that reads handwritten digits.

Fill in each function, then run `mi-exercise check training`.
Shapes are written in brackets. Keep tensors on the device of the inputs (the grader sends
them to the GPU when there is one); models go on the device you are given or the inputs' one.
You may use torch.autograd and torch.optim in the MLP part; linear regression's step is a
formula you derive.
"""

import torch
from torch import nn


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all entries of pred and target (same shape): a 0-dim tensor."""
    raise NotImplementedError("mse_loss")


def linear_regression_step(X: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor, lr: float):
    """One gradient-descent step on L(w, b) = mse_loss(X @ w + b, y).

    X [n, d], y [n], w [d], b a 0-dim tensor, lr a float.
    Return (w - lr * dL/dw, b - lr * dL/db) as NEW tensors: do not change w or b in place.
    """
    raise NotImplementedError("linear_regression_step")


def fit_linear_regression(X: torch.Tensor, y: torch.Tensor, lr: float, steps: int):
    """Start from w = zeros [d] and b = 0 (a 0-dim tensor), both with X's dtype and device,
    and take `steps` steps of linear_regression_step. Return (w [d], b 0-dim)."""
    raise NotImplementedError("fit_linear_regression")


def linear_regression_closed_form(X: torch.Tensor, y: torch.Tensor):
    """The least-squares solution (w [d], b 0-dim) that minimises mse_loss(X @ w + b, y),
    computed directly (no iterations). X [n, d] with n > d, y [n]."""
    raise NotImplementedError("linear_regression_closed_form")


def make_mlp(d_in: int, d_hidden: int, n_classes: int, device) -> nn.Module:
    """An MLP on `device`: Linear(d_in, d_hidden) -> ReLU -> Linear(d_hidden, n_classes).
    It maps x [batch, d_in] to logits [batch, n_classes]. Nothing else in it."""
    raise NotImplementedError("make_mlp")


def predict(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The predicted class of each row of X [n, d_in]: int64 [n], the argmax of the logits.
    Do not track gradients."""
    raise NotImplementedError("predict")


def train_mlp(X_train: torch.Tensor, y_train: torch.Tensor, seed: int) -> nn.Module:
    """Train a classifier for 8x8 handwritten digits and return it (an nn.Module on
    X_train's device).

    X_train [n, 64] float32: raw pixel intensities 0..16 of n images, flattened row by row.
    y_train [n] int64: the digit 0..9 of each image.
    seed: seed every random choice (initial weights, minibatch order) from it.
    The grader calls predict(model, X_test) on RAW pixels of images your code never saw, so
    any scaling of the inputs must happen inside the returned model. It needs 95% accuracy
    there, and the whole training must finish well within the test's 90 seconds (it runs
    with one torch thread; about 5 seconds of training is plenty).
    """
    raise NotImplementedError("train_mlp")
