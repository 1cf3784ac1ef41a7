"""Value.backward overwrites a parent's gradient instead of adding to it, so shared nodes lose all but
one use."""


def backward(self) -> None:
    self.grad = torch.ones_like(self.data)
    for node in reversed(self._topological_order()):  # from the output back to the leaves
        if node._backward is None or node.grad is None:
            continue
        for parent, g in zip(node._parents, node._backward(node.grad)):
            parent.grad = g


Value.backward = backward
