"""Mutant: train_mlp shuffles the images and the labels with two different permutations, so images and labels no longer match."""

import torch
from torch import nn


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((pred - target) ** 2).mean()


def linear_regression_step(X: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor, lr: float):
    n = X.shape[0]
    residual = X @ w + b - y                 # [n]
    grad_w = 2.0 / n * (X.t() @ residual)    # d/dw mean(residual^2)
    grad_b = 2.0 / n * residual.sum()
    return w - lr * grad_w, b - lr * grad_b


def fit_linear_regression(X: torch.Tensor, y: torch.Tensor, lr: float, steps: int):
    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)
    b = torch.zeros((), dtype=X.dtype, device=X.device)
    for _ in range(steps):
        w, b = linear_regression_step(X, y, w, b, lr)
    return w, b


def linear_regression_closed_form(X: torch.Tensor, y: torch.Tensor):
    ones = torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device)
    A = torch.cat([X, ones], dim=1)          # a column of ones carries the intercept
    sol = torch.linalg.lstsq(A, y[:, None]).solution[:, 0]
    return sol[:-1], sol[-1]


def make_mlp(d_in: int, d_hidden: int, n_classes: int, device) -> nn.Module:
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.ReLU(), nn.Linear(d_hidden, n_classes)).to(device)


def predict(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(X).argmax(dim=-1)


class Standardize(nn.Module):
    """Shift and scale each input feature with statistics of the TRAINING set."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def train_mlp(X_train: torch.Tensor, y_train: torch.Tensor, seed: int) -> nn.Module:
    device = X_train.device
    torch.manual_seed(seed)                   # the initial weights
    order = torch.Generator().manual_seed(seed)  # the minibatch order
    mean, std = X_train.mean(dim=0), X_train.std(dim=0) + 1e-3  # constant pixels: std 0
    model = nn.Sequential(Standardize(mean, std), make_mlp(X_train.shape[1], 128, 10, device))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    n, batch = X_train.shape[0], 256
    model.train()
    for _ in range(10):
        perm = torch.randperm(n, generator=order).to(device)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            idy = torch.randperm(n, generator=order).to(device)[i:i + batch]
            loss = nn.functional.cross_entropy(model(X_train[idx]), y_train[idy])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model
