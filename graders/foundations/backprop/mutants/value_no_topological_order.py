"""Value.backward recurses into each parent right after passing it a gradient, passing on its
accumulated gradient, so a shared node sends the gradient of its first use again with each later
use."""


def backward(self) -> None:
    self.grad = torch.ones_like(self.data)

    def propagate(node, grad):
        if node._backward is None:
            return
        for parent, g in zip(node._parents, node._backward(grad)):
            parent.grad = g if parent.grad is None else parent.grad + g
            propagate(parent, parent.grad)

    propagate(self, self.grad)


Value.backward = backward
