"""Value.backward accumulates with parent.grad += g, in place: when add_backward hands the same tensor
to both inputs, adding to one input's gradient changes the other's too."""


def backward(self) -> None:
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
    self.grad = torch.ones_like(self.data)
    for node in reversed(order):
        if node._backward is None or node.grad is None:
            continue
        for parent, g in zip(node._parents, node._backward(node.grad)):
            if parent.grad is None:
                parent.grad = g
            else:
                parent.grad += g


Value.backward = backward
