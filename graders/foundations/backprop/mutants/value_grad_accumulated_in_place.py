"""Value.backward accumulates with parent.grad += g, in place: when add_backward hands the same tensor
to both inputs, adding to one input's gradient changes the other's too."""


def backward(self) -> None:
    self.grad = torch.ones_like(self.data)
    for node in reversed(self._topological_order()):  # from the output back to the leaves
        if node._backward is None or node.grad is None:
            continue
        for parent, g in zip(node._parents, node._backward(node.grad)):
            if parent.grad is None:
                parent.grad = g
            else:
                parent.grad += g


Value.backward = backward
