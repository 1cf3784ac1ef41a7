"""Backprop by hand: the backward pass of add, mul, matmul, tanh, log, softmax and
cross-entropy, then a tiny chain-rule engine (class Value) built from them.

Fill in each function, then run `mi-exercise check backprop`.
Every *_backward function gets the forward inputs and grad_out, the gradient of the final
(scalar) loss with respect to the op's OUTPUT, and returns the gradient of the loss with
respect to each INPUT: same shape as that input. Do not use torch.autograd (no
requires_grad, no .backward() on torch tensors): the point is to derive the gradients.
Keep results on the device of the inputs.
"""

import torch


def unbroadcast(grad: torch.Tensor, shape) -> torch.Tensor:
    """Sum grad back down to `shape` (a tuple or torch.Size) after broadcasting stretched an
    input of that shape: sum over the leading dimensions broadcasting added, and over every
    dimension where shape has size 1 but grad does not (keeping it as size 1).

    unbroadcast(g [2, 5, 3], (5, 1)) -> [5, 1];  unbroadcast(g [4, 3], ()) -> a 0-dim tensor.
    """
    raise NotImplementedError("unbroadcast")


def add_backward(a: torch.Tensor, b: torch.Tensor, grad_out: torch.Tensor):
    """out = a + b (with broadcasting), grad_out has out's shape.
    Return (grad_a [a.shape], grad_b [b.shape])."""
    raise NotImplementedError("add_backward")


def mul_backward(a: torch.Tensor, b: torch.Tensor, grad_out: torch.Tensor):
    """out = a * b (elementwise, with broadcasting). Return (grad_a [a.shape], grad_b [b.shape])."""
    raise NotImplementedError("mul_backward")


def matmul_backward(a: torch.Tensor, b: torch.Tensor, grad_out: torch.Tensor):
    """out = a @ b for a [..., n, k] and b [..., k, m] (both at least 2-D; batch dimensions
    in front broadcast), grad_out [..., n, m]. Return (grad_a [a.shape], grad_b [b.shape])."""
    raise NotImplementedError("matmul_backward")


def tanh_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """out = tanh(x). Return grad_x [x.shape]."""
    raise NotImplementedError("tanh_backward")


def log_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """out = log(x) for x > 0. Return grad_x [x.shape]."""
    raise NotImplementedError("log_backward")


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension: x [..., k] -> [..., k]. Must not overflow for
    entries around 1000."""
    raise NotImplementedError("softmax")


def softmax_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """out = softmax(x) over the last dimension; x, grad_out [..., k]. Return grad_x [..., k]."""
    raise NotImplementedError("softmax_backward")


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy loss of logits [N, C] against class indices targets [N] (int64):
    the mean over the batch of -log softmax(logits)[i, targets[i]]. Return a 0-dim tensor.
    Must stay finite for logits of size 1e4."""
    raise NotImplementedError("cross_entropy")


def cross_entropy_backward(logits: torch.Tensor, targets: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """loss = cross_entropy(logits, targets); grad_out is a 0-dim tensor (dL/dloss).
    Return grad_logits [N, C]."""
    raise NotImplementedError("cross_entropy_backward")


class Value:
    """A tensor that remembers how it was made, so that backward() can apply the chain rule.

    v = Value(data) wraps a tensor. Operations return new Values and record their parents
    and how to send a gradient back to them (use the *_backward functions above):
        a.add(b), a.mul(b), a.matmul(b)      (b is a Value; broadcasting as in torch)
        a.tanh(), a.log(), a.softmax()       (softmax over the last dimension)
        a.cross_entropy(targets)             (a: logits [N, C]; targets: an int64 tensor [N]; a 0-dim Value)
        a.sum()                              (the sum of all entries; a 0-dim Value)
    loss.backward() on a 0-dim Value sets loss.grad = 1 and fills .grad (a tensor of the
    node's data shape) of every Value the loss depends on. A Value used several times gets
    the SUM of the gradients from its uses. Attributes: .data (the tensor), .grad (None
    until backward() reaches it).
    """

    def __init__(self, data: torch.Tensor):
        raise NotImplementedError("Value.__init__")

    def add(self, other: "Value") -> "Value":
        raise NotImplementedError("Value.add")

    def mul(self, other: "Value") -> "Value":
        raise NotImplementedError("Value.mul")

    def matmul(self, other: "Value") -> "Value":
        raise NotImplementedError("Value.matmul")

    def tanh(self) -> "Value":
        raise NotImplementedError("Value.tanh")

    def log(self) -> "Value":
        raise NotImplementedError("Value.log")

    def softmax(self) -> "Value":
        raise NotImplementedError("Value.softmax")

    def cross_entropy(self, targets: torch.Tensor) -> "Value":
        raise NotImplementedError("Value.cross_entropy")

    def sum(self) -> "Value":
        raise NotImplementedError("Value.sum")

    def backward(self) -> None:
        raise NotImplementedError("Value.backward")
