"""Value.backward overwrites a parent's gradient instead of adding to it, so shared nodes lose all but
one use."""


def backward(self) -> None:
    # topological order: every node after all the nodes it was made from
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
    for node in reversed(order):  # from the output back to the leaves
        if node._backward is None or node.grad is None:
            continue
        for parent, g in zip(node._parents, node._backward(node.grad)):
            parent.grad = g


Value.backward = backward
