"""Reference solution for backprop."""

import torch


def unbroadcast(grad: torch.Tensor, shape) -> torch.Tensor:
    shape = tuple(shape)
    # dimensions that broadcasting added in front
    while grad.dim() > len(shape):
        grad = grad.sum(dim=0)
    # dimensions of size 1 that broadcasting stretched
    for i, size in enumerate(shape):
        if size == 1 and grad.shape[i] != 1:
            grad = grad.sum(dim=i, keepdim=True)
    return grad


def add_backward(a: torch.Tensor, b: torch.Tensor, grad_out: torch.Tensor):
    return unbroadcast(grad_out, a.shape), unbroadcast(grad_out, b.shape)


def mul_backward(a: torch.Tensor, b: torch.Tensor, grad_out: torch.Tensor):
    return unbroadcast(grad_out * b, a.shape), unbroadcast(grad_out * a, b.shape)


def matmul_backward(a: torch.Tensor, b: torch.Tensor, grad_out: torch.Tensor):
    grad_a = grad_out @ b.transpose(-1, -2)
    grad_b = a.transpose(-1, -2) @ grad_out
    return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)


def tanh_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    return grad_out * (1 - torch.tanh(x) ** 2)


def log_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    return grad_out / x


def softmax(x: torch.Tensor) -> torch.Tensor:
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def softmax_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    s = softmax(x)
    return s * (grad_out - (grad_out * s).sum(dim=-1, keepdim=True))


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    m = logits.max(dim=-1, keepdim=True).values
    lse = (m + torch.log(torch.exp(logits - m).sum(dim=-1, keepdim=True))).squeeze(-1)
    picked = logits.gather(-1, targets[:, None]).squeeze(-1)
    return (lse - picked).mean()


def cross_entropy_backward(logits: torch.Tensor, targets: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    n = logits.shape[0]
    onehot = torch.nn.functional.one_hot(targets, logits.shape[-1]).to(logits.dtype)
    return grad_out * (softmax(logits) - onehot) / n


class Value:
    """A tensor that remembers how it was made, so that backward() can apply the chain rule."""

    def __init__(self, data: torch.Tensor, _parents=(), _backward=None):
        self.data = data
        self.grad = None
        self._parents = tuple(_parents)
        self._backward = _backward  # grad of this node -> grads of its parents, in order

    def _child(self, data, parents, backward) -> "Value":
        return Value(data, parents, backward)

    def add(self, other: "Value") -> "Value":
        return self._child(self.data + other.data, (self, other),
                           lambda g: add_backward(self.data, other.data, g))

    def mul(self, other: "Value") -> "Value":
        return self._child(self.data * other.data, (self, other),
                           lambda g: mul_backward(self.data, other.data, g))

    def matmul(self, other: "Value") -> "Value":
        return self._child(self.data @ other.data, (self, other),
                           lambda g: matmul_backward(self.data, other.data, g))

    def tanh(self) -> "Value":
        return self._child(torch.tanh(self.data), (self,), lambda g: (tanh_backward(self.data, g),))

    def log(self) -> "Value":
        return self._child(torch.log(self.data), (self,), lambda g: (log_backward(self.data, g),))

    def softmax(self) -> "Value":
        return self._child(softmax(self.data), (self,), lambda g: (softmax_backward(self.data, g),))

    def cross_entropy(self, targets: torch.Tensor) -> "Value":
        return self._child(cross_entropy(self.data, targets), (self,),
                           lambda g: (cross_entropy_backward(self.data, targets, g),))

    def sum(self) -> "Value":
        return self._child(self.data.sum(), (self,), lambda g: (g * torch.ones_like(self.data),))

    def _topological_order(self) -> list:
        """Every node this one was made from, each after all the nodes it was made from."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._parents if id(p) not in seen)
        return order

    def backward(self) -> None:
        self.grad = torch.ones_like(self.data)
        for node in reversed(self._topological_order()):  # from the output back to the leaves
            if node._backward is None or node.grad is None:
                continue
            for parent, g in zip(node._parents, node._backward(node.grad)):
                parent.grad = g if parent.grad is None else parent.grad + g

    __add__, __mul__, __matmul__ = add, mul, matmul

    def __repr__(self) -> str:
        return f"Value(shape={list(self.data.shape)})"
