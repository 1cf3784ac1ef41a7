"""Grader for training.

Linear regression: one gradient-descent step and a few steps are compared with the exact
update rule, a long run with the least-squares closed form (computed here in float64), on
seeded data of several shapes. The MLP: the architecture is checked against its own weights,
then the learner's train_mlp trains a model in the worker on the training part of
scikit-learn's bundled digits (no download) and the grader measures accuracy here, on a
held-out part whose labels never leave the trusted side.
"""

import functools

import pytest
import torch

from mi_exercise.grading import assert_close, fail
from mi_exercise.runner.proxy import RemoteObject

ACCURACY_NEEDED = 0.95


def randn(seed: int, *shape: int, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def regression_data(seed: int, n: int, d: int, dtype=torch.float32, noise: float = 0.1):
    X = randn(seed, n, d, dtype=dtype)
    w_true = randn(seed + 1, d, dtype=dtype) * 2
    y = X @ w_true + 1.5 + noise * randn(seed + 2, n, dtype=dtype)
    return X, y


def least_squares(X: torch.Tensor, y: torch.Tensor):
    """The closed form, in float64, from torch.linalg.lstsq on [X, 1]."""
    A = torch.cat([X.double(), torch.ones(X.shape[0], 1, dtype=torch.float64)], dim=1)
    sol = torch.linalg.lstsq(A, y.double()[:, None]).solution[:, 0]
    return sol[:-1].to(X.dtype), sol[-1].to(X.dtype)


def pair(got, label):
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(f"{label} should return a pair (w, b), got {type(got).__name__}")
    w, b = got
    if not isinstance(b, torch.Tensor) or b.dim() != 0:
        fail(f"{label}: b should be a 0-dim tensor, got {b!r}"[:300])
    return w, b


def test_mse_loss(submission, reference, device):
    cases = [("pred [5], target [5]", randn(0, 5), randn(1, 5)),
             ("pred [3, 4], target [3, 4]", randn(2, 3, 4), randn(3, 3, 4)),
             ("pred [1], target [1]", randn(4, 1), randn(5, 1)),
             ("float64 pred [6] (a strided view), target [6]", randn(6, 12, dtype=torch.float64)[::2],
              randn(7, 6, dtype=torch.float64))]
    for label, p, t in cases:
        assert_close(submission.mse_loss(p, t), reference.mse_loss(p, t), name=f"mse_loss({label})", device=device)


def test_linear_regression_step(submission, reference, device):
    cases = [("X [20, 3]", *regression_data(10, 20, 3), 0.05),
             ("X [1, 4]", *regression_data(11, 1, 4), 0.1),
             ("X [30, 2] (a transposed view)", randn(12, 2, 30).t(), randn(13, 30), 0.01),
             ("float64 X [15, 5]", *regression_data(14, 15, 5, dtype=torch.float64), 0.2)]
    for i, (label, X, y, lr) in enumerate(cases):
        w = randn(20 + i, X.shape[1], dtype=X.dtype)
        b = torch.tensor(0.3, dtype=X.dtype)
        name = f"linear_regression_step({label}, y, w, b, lr={lr})"
        w_new, b_new = pair(submission.linear_regression_step(X, y, w, b, lr), name)
        w_ref, b_ref = reference.linear_regression_step(X, y, w, b, lr)
        w_half = w - (w - w_ref) / 2  # a step with half the gradient
        if w_new.shape == w_ref.shape and not torch.allclose(w_new, w_ref, rtol=1e-4, atol=1e-5) and \
                torch.allclose(w_new, w_half, rtol=1e-4, atol=1e-5):
            fail(f"{name}: the step is half as long as it should be. The gradient of "
                 "mean((X w + b - y)^2) with respect to w is (2 / n) X^T (X w + b - y): keep the 2")
        assert_close(w_new, w_ref, name=f"{name}: new w", device=device)
        assert_close(b_new, b_ref, name=f"{name}: new b", device=device)


def test_linear_regression_closed_form(submission, device):
    cases = [("X [50, 3]", *regression_data(30, 50, 3)),
             ("X [10, 1]", *regression_data(31, 10, 1)),
             ("X [40, 5] (a transposed view)", randn(32, 5, 40).t(), randn(33, 40) + 4.0),
             ("float64 X [25, 4]", *regression_data(34, 25, 4, dtype=torch.float64))]
    for label, X, y in cases:
        name = f"linear_regression_closed_form({label}, y)"
        w, b = pair(submission.linear_regression_closed_form(X, y), name)
        w_ref, b_ref = least_squares(X, y)
        tol = {} if X.dtype == torch.float64 else {"rtol": 1e-3, "atol": 1e-4}  # float32 solvers differ a little
        assert_close(w, w_ref, name=f"{name}: w", device=device, **tol)
        assert_close(b, b_ref, name=f"{name}: b (the intercept)", device=device, **tol)


@pytest.mark.uses(linear_regression_step="test_linear_regression_step")
def test_fit_linear_regression_steps(submission, reference, device):
    """A few steps must follow gradient descent from w = 0, b = 0 exactly."""
    for label, (X, y), lr, steps in [("X [40, 3]", regression_data(40, 40, 3), 0.1, 3),
                                     ("X [8, 2]", regression_data(41, 8, 2), 0.05, 1),
                                     ("X [25, 4]", regression_data(42, 25, 4), 0.02, 10)]:
        name = f"fit_linear_regression({label}, y, lr={lr}, steps={steps})"
        w, b = pair(submission.fit_linear_regression(X, y, lr, steps), name)
        w_ref, b_ref = reference.fit_linear_regression(X, y, lr, steps)
        w_ls, _ = least_squares(X, y)
        if w.shape == w_ls.shape and not torch.allclose(w, w_ref, rtol=1e-3, atol=1e-4) and \
                torch.allclose(w, w_ls, rtol=1e-3, atol=1e-3):
            fail(f"{name} returned the least-squares solution: run `steps` steps of gradient descent "
                 "from w = 0, b = 0 instead")
        assert_close(w, w_ref, name=f"{name}: w", device=device)
        assert_close(b, b_ref, name=f"{name}: b", device=device)


@pytest.mark.uses(linear_regression_step="test_linear_regression_step")
def test_fit_linear_regression_converges(submission, device):
    """Run long enough, gradient descent reaches the closed form (the loss is convex)."""
    for label, (X, y), lr, steps in [("X [200, 3]", regression_data(50, 200, 3), 0.1, 300),
                                     ("X [100, 6]", regression_data(51, 100, 6, noise=1.0), 0.1, 400)]:
        name = f"fit_linear_regression({label}, y, lr={lr}, steps={steps})"
        w, b = pair(submission.fit_linear_regression(X, y, lr, steps), name)
        w_ls, b_ls = least_squares(X, y)
        # float32 gradient descent settles within ~1e-6 of the optimum; 1e-3 leaves room
        assert_close(w, w_ls, name=f"{name}: w vs the least-squares solution", device=device, rtol=1e-3, atol=1e-3)
        assert_close(b, b_ls, name=f"{name}: b vs the least-squares intercept", device=device, rtol=1e-3, atol=1e-3)


def find_layers(state: dict, d_in: int, d_hidden: int, n_classes: int, label: str):
    """The two Linear layers' weights and biases, recognised by their shapes."""
    by_shape = {}
    for key, t in state.items():
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            by_shape.setdefault(tuple(t.shape), []).append(key)
    wanted = {"W1": (d_hidden, d_in), "b1": (d_hidden,), "W2": (n_classes, d_hidden), "b2": (n_classes,)}
    found = {}
    for name, shape in wanted.items():
        keys = by_shape.get(shape, [])
        if len(keys) != 1:
            have = ", ".join(f"{k} {list(t.shape)}" for k, t in state.items())
            fail(f"{label}: expected one Linear({d_in}, {d_hidden}) and one Linear({d_hidden}, {n_classes}) "
                 f"(PyTorch stores a weight as [out, in]); the state_dict has {have}"[:600])
        found[name] = state[keys[0]]
    n_params = sum(t.numel() for t in state.values() if isinstance(t, torch.Tensor))
    expected = d_in * d_hidden + d_hidden + d_hidden * n_classes + n_classes
    if n_params != expected:
        fail(f"{label} has {n_params} numbers in its state_dict, expected {expected}: "
             "exactly Linear -> ReLU -> Linear, nothing more")
    return found


def test_make_mlp(submission, device):
    for i, (d_in, d_hidden, n_classes) in enumerate([(64, 32, 10), (5, 7, 3)]):
        label = f"make_mlp({d_in}, {d_hidden}, {n_classes}, '{device}')"
        model = submission.make_mlp(d_in, d_hidden, n_classes, device)
        if not isinstance(model, RemoteObject):
            fail(f"{label} should return an nn.Module, got {type(model).__name__}")
        state = model.state_dict()
        if not isinstance(state, dict):
            fail(f"{label}.state_dict() did not return a dict of tensors")
        p = find_layers(state, d_in, d_hidden, n_classes, label)
        for n in (1, 9):
            x = randn(60 + n + i, n, d_in)
            got = model(x)
            h = x @ p["W1"].t() + p["b1"]
            expected = torch.relu(h) @ p["W2"].t() + p["b2"]
            if isinstance(got, torch.Tensor) and got.shape == expected.shape and \
                    not torch.allclose(got, expected, rtol=1e-3, atol=1e-4) and \
                    torch.allclose(got, h @ p["W2"].t() + p["b2"], rtol=1e-3, atol=1e-4):
                fail(f"{label}: the model is linear (no ReLU between the layers), so two layers are no more "
                     "expressive than one; put nn.ReLU() between them")
            assert_close(got, expected, name=f"{label}(x [{n}, {d_in}]) vs relu(x W1^T + b1) W2^T + b2",
                         device=device, rtol=1e-3, atol=1e-4)


def test_predict(submission, device):
    model = submission.make_mlp(64, 16, 10, device)
    for n in (1, 12):
        x = randn(70 + n, n, 64) * 4
        pred = submission.predict(model, x)
        logits = model(x)
        if isinstance(pred, torch.Tensor) and pred.shape != (n,):
            fail(f"predict(model, X [{n}, 64]) returned shape {list(pred.shape)}, expected [{n}]: one class per "
                 "row, the argmax over the LAST dimension (the classes)")
        assert_close(pred, logits.argmax(dim=-1), name=f"predict(model, X [{n}, 64]) vs argmax of model(X)",
                     device=device)


@functools.lru_cache(maxsize=1)
def digits_split():
    """scikit-learn's bundled 8x8 digits (1797 images, shipped inside the package), split once
    with a fixed seed: 1347 for training, 450 held out here."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X = torch.tensor(d.data, dtype=torch.float32)
    y = torch.tensor(d.target, dtype=torch.int64)
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(2024))
    test, train = perm[:450], perm[450:]
    return X[train], y[train], X[test], y[test]


@pytest.mark.uses(predict="test_predict")
def test_train_mlp_digits(submission):
    X_train, y_train, X_test, y_test = digits_split()
    model = submission.train_mlp(X_train, y_train, 0)
    if not isinstance(model, RemoteObject):
        fail(f"train_mlp should return the trained model (an nn.Module), got {type(model).__name__}")
    pred = submission.predict(model, X_test)
    if not isinstance(pred, torch.Tensor) or pred.shape != y_test.shape:
        fail(f"predict(trained model, X_test [{len(X_test)}, 64]) should return int64 [{len(X_test)}]")
    acc = (pred.to(torch.int64) == y_test).double().mean().item()
    if acc < ACCURACY_NEEDED:
        logits = model(X_test)
        if isinstance(logits, torch.Tensor) and logits.is_floating_point() and not torch.isfinite(logits).all():
            rows = int((~torch.isfinite(logits)).any(dim=-1).sum())
            fail(f"the trained model's logits are NaN or infinite for {rows} of the {len(y_test)} held-out digits, so "
                 f"its accuracy ({acc:.1%}) means nothing: argmax of NaN is arbitrary. Some pixels have standard "
                 "deviation 0 in the training set (they are always 0), so standardising divides by 0: use std + 1e-6 "
                 "(or clamp it); a learning rate that is too large can also blow the weights up")
        train_pred = submission.predict(model, X_train)
        train_acc = (train_pred.to(torch.int64) == y_train).double().mean().item() \
            if isinstance(train_pred, torch.Tensor) and train_pred.shape == y_train.shape else float("nan")
        fail(f"the trained MLP classifies {acc:.1%} of the {len(y_test)} held-out digits correctly "
             f"({train_acc:.1%} of the training digits); it needs {ACCURACY_NEEDED:.0%}. Check that each "
             "image stays paired with its label when you shuffle, that you call zero_grad() every step, "
             "scale the pixels (0..16) inside the model, and train for enough epochs")
