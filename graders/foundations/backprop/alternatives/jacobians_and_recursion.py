"""Other derivations: unbroadcast in one sum over all stretched axes, matmul_backward with
einsum, tanh' as 1/cosh^2, softmax_backward through the full Jacobian, cross-entropy through
log_softmax and a scatter, and Value.backward ordering the graph by a recursive depth-first
search."""

import torch


def unbroadcast(grad: torch.Tensor, shape) -> torch.Tensor:
    shape = tuple(shape)
    lead = grad.dim() - len(shape)
    stretched = [lead + i for i, size in enumerate(shape) if size == 1 and grad.shape[lead + i] != 1]
    summed = grad.sum(dim=tuple(range(lead)) + tuple(stretched), keepdim=True) if lead or stretched else grad
    return summed.reshape(shape)


def matmul_backward(a: torch.Tensor, b: torch.Tensor, grad_out: torch.Tensor):
    grad_a = torch.einsum("...ik,...jk->...ij", grad_out, b)
    grad_b = torch.einsum("...ki,...kj->...ij", a, grad_out)
    return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)


def tanh_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    return grad_out / torch.cosh(x) ** 2


def softmax_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    s = torch.softmax(x, dim=-1)
    jacobian = torch.diag_embed(s) - s[..., :, None] * s[..., None, :]  # d s_i / d x_j, symmetric
    return (jacobian @ grad_out[..., :, None])[..., 0]


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    log_probs = torch.log_softmax(logits, dim=-1)
    return -log_probs[torch.arange(logits.shape[0], device=logits.device), targets].mean()


def cross_entropy_backward(logits: torch.Tensor, targets: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    grad = torch.softmax(logits, dim=-1).scatter_add(
        -1, targets[:, None], -torch.ones(logits.shape[0], 1, dtype=logits.dtype, device=logits.device))
    return grad * (grad_out / logits.shape[0])


def backward(self) -> None:
    order, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in node._parents:
            visit(parent)
        order.append(node)  # after everything it was made from

    visit(self)
    self.grad = torch.ones_like(self.data)
    for node in reversed(order):
        if node._backward is None or node.grad is None:
            continue
        for parent, g in zip(node._parents, node._backward(node.grad)):
            parent.grad = g if parent.grad is None else parent.grad + g


Value.backward = backward
