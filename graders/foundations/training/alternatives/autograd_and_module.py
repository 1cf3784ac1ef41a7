"""Other ways to the same models: F.mse_loss, the regression step's gradient from
torch.autograd.grad, the normal equations on centred data, an nn.Module subclass for the MLP,
and a training loop that scales the pixels by 1/16 and uses AdamW with a DataLoader."""

import torch
import torch.nn.functional as F
from torch import nn


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred, target)


def linear_regression_step(X: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor, lr: float):
    w_, b_ = w.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True)
    grad_w, grad_b = torch.autograd.grad(F.mse_loss(X @ w_ + b_, y), (w_, b_))
    return (w - lr * grad_w).detach(), (b - lr * grad_b).detach()


def linear_regression_closed_form(X: torch.Tensor, y: torch.Tensor):
    # centring removes the intercept: w solves the normal equations of the centred data
    x_mean, y_mean = X.mean(dim=0), y.mean()
    Xc = X - x_mean
    w = torch.linalg.solve(Xc.T @ Xc, Xc.T @ (y - y_mean))
    return w, y_mean - x_mean @ w


class TwoLayerMLP(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, n_classes: int):
        super().__init__()
        self.hidden = nn.Linear(d_in, d_hidden)
        self.out = nn.Linear(d_hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(x)))


def make_mlp(d_in: int, d_hidden: int, n_classes: int, device) -> nn.Module:
    return TwoLayerMLP(d_in, d_hidden, n_classes).to(device)


def predict(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.inference_mode():
        return model(X).max(dim=1).indices


class ScalePixels(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / 16.0  # the digits' pixels run from 0 to 16


def train_mlp(X_train: torch.Tensor, y_train: torch.Tensor, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(ScalePixels(), make_mlp(X_train.shape[1], 96, 10, X_train.device))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    batches = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X_train, y_train), batch_size=64,
                                          shuffle=True, generator=torch.Generator().manual_seed(seed))
    model.train()
    for _ in range(15):
        for xb, yb in batches:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
    return model
