"""Grader for backprop.

Every gradient is checked against torch.autograd on the trusted side (not against the
reference), on seeded random inputs: broadcasting in both directions (added leading
dimensions and stretched size-1 dimensions), square and non-square matrices, batches of one,
non-contiguous views, float64, and logits large enough to overflow a naive softmax. The
chain-rule engine (class Value) is driven through the proxy: its objects stay in the worker.
"""

import pytest
import torch
import torch.nn.functional as F

from mi_exercise.grading import assert_close, fail, forbid_calls


def randn(seed: int, *shape: int, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def autograd(f, *inputs, grad_out=None):
    """Gradients of f at inputs, from torch.autograd, for the upstream gradient grad_out."""
    leaves = [t.detach().clone().requires_grad_(t.is_floating_point()) for t in inputs]
    out = f(*leaves)
    out.backward(torch.ones_like(out) if grad_out is None else grad_out)
    return [leaf.grad for leaf in leaves if leaf.requires_grad]


def check_pair(got, expected, label, device, shapes):
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(f"{label} should return a pair (grad_a, grad_b), got {type(got).__name__}")
    for which, g, e, shape in zip("ab", got, expected, shapes):
        if isinstance(g, torch.Tensor) and g.shape != e.shape and g.numel() > e.numel():
            fail(f"{label}: grad_{which} has shape {list(g.shape)} but {which} has shape {list(shape)}; "
                 "a gradient has the shape of its input, so sum it over the dimensions broadcasting "
                 "added or stretched")
        assert_close(g, e, name=f"{label} grad_{which}", device=device)


BROADCAST_PAIRS = [
    ("a [4, 3], b [4, 3]", (4, 3), (4, 3)),
    ("a [4, 3], b [3]", (4, 3), (3,)),
    ("a [5, 1], b [1, 6]", (5, 1), (1, 6)),
    ("a [2, 1, 3], b [4, 1]", (2, 1, 3), (4, 1)),
    ("a [1], b [2, 3]", (1,), (2, 3)),
]


def test_unbroadcast(submission, device):
    cases = [((4, 3), (3,)), ((4, 3), (1, 3)), ((4, 3), (4, 1)), ((2, 5, 3), (5, 1)), ((2, 5, 3), (1,)),
             ((3, 4), (3, 4)), ((2, 3, 4), ()), ((2, 3), (1, 3)), ((3, 2), (3, 1))]  # size 1 stretched to 2 too
    for i, (big, small) in enumerate(cases):
        g = randn(i, *big)
        expected = autograd(lambda t: t.expand(big), torch.zeros(small), grad_out=g)[0]
        got = submission.unbroadcast(g, small)
        assert_close(got, expected, name=f"unbroadcast(grad {list(big)}, shape {list(small)})", device=device)
    g = randn(50, 6, 4).t()
    assert_close(submission.unbroadcast(g, (4, 1)), g.sum(dim=1, keepdim=True),
                 name="unbroadcast(grad [4, 6] (a transposed view), shape [4, 1])", device=device)


def test_add_backward(submission, device):
    for i, (label, sa, sb) in enumerate(BROADCAST_PAIRS):
        a, b = randn(10 + i, *sa), randn(20 + i, *sb)
        grad_out = randn(30 + i, *torch.broadcast_shapes(sa, sb))
        expected = autograd(torch.add, a, b, grad_out=grad_out)
        check_pair(submission.add_backward(a, b, grad_out), expected, f"add_backward({label})", device, (sa, sb))


def test_mul_backward(submission, device):
    for i, (label, sa, sb) in enumerate(BROADCAST_PAIRS):
        a, b = randn(40 + i, *sa), randn(50 + i, *sb)
        grad_out = randn(60 + i, *torch.broadcast_shapes(sa, sb))
        expected = autograd(torch.mul, a, b, grad_out=grad_out)
        check_pair(submission.mul_backward(a, b, grad_out), expected, f"mul_backward({label})", device, (sa, sb))
    a, b = randn(70, 3, 3, dtype=torch.float64), randn(71, 3, 3, dtype=torch.float64).t()
    grad_out = randn(72, 3, 3, dtype=torch.float64)
    check_pair(submission.mul_backward(a, b, grad_out), autograd(torch.mul, a, b, grad_out=grad_out),
               "mul_backward(float64 a [3, 3], b [3, 3] (a transposed view))", device, (a.shape, b.shape))


def test_matmul_backward(submission, device):
    cases = [
        ("a [3, 3], b [3, 3]", (3, 3), (3, 3)),
        ("a [4, 3], b [3, 5]", (4, 3), (3, 5)),
        ("a [1, 6], b [6, 2]", (1, 6), (6, 2)),
        ("a [2, 4, 3], b [3, 3] (b broadcast over the batch)", (2, 4, 3), (3, 3)),
        ("a [5, 2], b [3, 2, 4] (a broadcast over the batch)", (5, 2), (3, 2, 4)),
    ]
    for i, (label, sa, sb) in enumerate(cases):
        a, b = randn(80 + i, *sa), randn(90 + i, *sb)
        out_shape = (a @ b).shape
        grad_out = randn(100 + i, *out_shape)
        expected = autograd(torch.matmul, a, b, grad_out=grad_out)
        check_pair(submission.matmul_backward(a, b, grad_out), expected, f"matmul_backward({label})", device,
                   (sa, sb))
    a, b = randn(110, 6, 4).t(), randn(111, 6, 2)
    grad_out = randn(112, 4, 2)
    check_pair(submission.matmul_backward(a, b, grad_out), autograd(torch.matmul, a, b, grad_out=grad_out),
               "matmul_backward(a [4, 6] (a transposed view), b [6, 2])", device, (a.shape, b.shape))


def test_tanh_backward(submission, device):
    for i, shape in enumerate([(5,), (3, 4), (1, 1), (2, 3, 2)]):
        x, grad_out = randn(120 + i, *shape) * 2, randn(130 + i, *shape)
        assert_close(submission.tanh_backward(x, grad_out), autograd(torch.tanh, x, grad_out=grad_out)[0],
                     name=f"tanh_backward(x {list(shape)}, grad_out)", device=device)
    x = randn(140, 4, 6, dtype=torch.float64)[:, ::2]
    grad_out = randn(141, 4, 3, dtype=torch.float64)
    assert_close(submission.tanh_backward(x, grad_out), autograd(torch.tanh, x, grad_out=grad_out)[0],
                 name="tanh_backward(float64 x [4, 3] (a strided view), grad_out)", device=device)


def test_log_backward(submission, device):
    for i, shape in enumerate([(5,), (3, 4), (1, 1), (2, 3, 2)]):
        x, grad_out = randn(150 + i, *shape).abs() + 0.1, randn(160 + i, *shape)
        assert_close(submission.log_backward(x, grad_out), autograd(torch.log, x, grad_out=grad_out)[0],
                     name=f"log_backward(x {list(shape)} (positive), grad_out)", device=device)


def test_softmax(submission, device):
    cases = [("x [6]", randn(170, 6)), ("x [3, 5]", randn(171, 3, 5) * 3), ("x [1, 1]", randn(172, 1, 1)),
             ("x [2, 4, 7]", randn(173, 2, 4, 7)), ("x [5, 4] (a transposed view)", randn(174, 4, 5).t())]
    for label, x in cases:
        assert_close(submission.softmax(x), torch.softmax(x, dim=-1), name=f"softmax({label})", device=device)
    big = randn(175, 3, 5) * 1000
    got = submission.softmax(big)
    if isinstance(got, torch.Tensor) and torch.isnan(got).any():
        fail("softmax(x) with entries around 1000 gave NaN: exp(1000) overflows to inf and inf / inf = NaN; "
             "subtract each row's maximum before exp (the result does not change)")
    assert_close(got, torch.softmax(big, dim=-1), name="softmax(x [3, 5] with entries around 1000)", device=device)


def test_softmax_backward(submission, device):
    cases = [("x [6]", (6,)), ("x [3, 5]", (3, 5)), ("x [1, 4]", (1, 4)), ("x [2, 3, 7]", (2, 3, 7))]
    for i, (label, shape) in enumerate(cases):
        x, grad_out = randn(180 + i, *shape), randn(190 + i, *shape)
        expected = autograd(lambda t: torch.softmax(t, dim=-1), x, grad_out=grad_out)[0]
        got = submission.softmax_backward(x, grad_out)
        if isinstance(got, torch.Tensor) and got.shape == x.shape:
            s = torch.softmax(x, dim=-1)
            if torch.allclose(got, s * grad_out, rtol=1e-4, atol=1e-6):
                fail(f"softmax_backward({label}) returned s * grad_out: that is only the diagonal of the Jacobian. "
                     "Every output depends on every input through the normalisation; subtract "
                     "s * sum(grad_out * s) over the last dimension")
        assert_close(got, expected, name=f"softmax_backward({label}, grad_out)", device=device)
    # a constant upstream gradient: the softmax sums to 1, so its gradient must be 0
    x = randn(199, 2, 5)
    assert_close(submission.softmax_backward(x, torch.ones(2, 5)), torch.zeros(2, 5),
                 name="softmax_backward(x [2, 5], grad_out = ones) (should be 0: softmax rows sum to 1)",
                 device=device, atol=1e-6)


def cross_entropy_cases():
    yield "logits [4, 3]", randn(200, 4, 3), torch.tensor([0, 2, 1, 2])
    yield "logits [1, 5]", randn(201, 1, 5), torch.tensor([4])
    yield "logits [8, 10]", randn(202, 8, 10) * 3, torch.randint(0, 10, (8,), generator=torch.Generator().manual_seed(203))
    yield "logits [6, 4] (a transposed view)", randn(204, 4, 6).t(), torch.tensor([3, 3, 0, 1, 2, 0])


def test_cross_entropy(submission, device):
    for label, logits, targets in cross_entropy_cases():
        assert_close(submission.cross_entropy(logits, targets), F.cross_entropy(logits, targets),
                     name=f"cross_entropy({label}, targets)", device=device)
    big = randn(205, 3, 4) * 1e4
    t = torch.tensor([1, 0, 3])
    got = submission.cross_entropy(big, t)
    if isinstance(got, torch.Tensor) and not torch.isfinite(got).all():
        fail("cross_entropy(logits of size 1e4, targets) is not finite: exp(1e4) overflows; compute "
             "log-sum-exp as max + log(sum(exp(logits - max)))")
    assert_close(got, F.cross_entropy(big, t), name="cross_entropy(logits [3, 4] of size 1e4, targets)",
                 device=device)


def test_cross_entropy_backward(submission, device):
    for i, (label, logits, targets) in enumerate(cross_entropy_cases()):
        g = torch.tensor(1.0) if i % 2 == 0 else torch.tensor(0.5)
        expected = autograd(lambda t: F.cross_entropy(t, targets), logits, grad_out=g)[0]
        got = submission.cross_entropy_backward(logits, targets, g)
        n = logits.shape[0]
        if n > 1 and isinstance(got, torch.Tensor) and got.shape == expected.shape and \
                torch.allclose(got, expected * n, rtol=1e-4, atol=1e-6):
            fail(f"cross_entropy_backward({label}) is {n} times too large: the loss is the MEAN over the "
                 f"batch, so divide by the batch size ({n})")
        assert_close(got, expected, name=f"cross_entropy_backward({label}, targets, grad_out={g.item()})",
                     device=device)


# -- the chain-rule engine ---------------------------------------------------------------

def leaf(submission, t):
    return submission.Value(t)


def value_grad(v, label):
    g = v.get("grad")
    if g is None:
        fail(f"{label}.grad is None after backward(): every input the loss depends on needs a gradient")
    return g


@pytest.mark.uses(add_backward="test_add_backward", mul_backward="test_mul_backward", matmul_backward="test_matmul_backward", tanh_backward="test_tanh_backward", log_backward="test_log_backward", softmax_backward="test_softmax_backward", cross_entropy_backward="test_cross_entropy_backward", unbroadcast="test_unbroadcast")
def test_value_ops(submission, device):
    """Each operation alone, followed by .sum() (or as the loss), through Value.backward()."""
    x, w, b = randn(300, 3, 4), randn(301, 4, 2), randn(302, 4)
    pos = randn(303, 3, 4).abs() + 0.2
    y = torch.tensor([1, 0, 3])
    cases = [
        ("x.add(b).sum()  (b [4] broadcast)", lambda X, B: X.add(B).sum(), lambda X, B: (X + B).sum(), (x, b)),
        ("x.mul(b).sum()  (b [4] broadcast)", lambda X, B: X.mul(B).sum(), lambda X, B: (X * B).sum(), (x, b)),
        ("x.matmul(w).sum()", lambda X, W: X.matmul(W).sum(), lambda X, W: (X @ W).sum(), (x, w)),
        ("x.tanh().mul(x).sum()", lambda X: X.tanh().mul(X).sum(), lambda X: (torch.tanh(X) * X).sum(), (x,)),
        ("p.log().mul(x).sum()  (p > 0)", lambda P, X: P.log().mul(X).sum(), lambda P, X: (torch.log(P) * X).sum(),
         (pos, x)),
        ("x.softmax().mul(p).sum()", lambda X, P: X.softmax().mul(P).sum(),
         lambda X, P: (torch.softmax(X, -1) * P).sum(), (x, pos)),
        ("x.cross_entropy(y)", lambda X: X.cross_entropy(y), lambda X: F.cross_entropy(X, y), (x,)),
    ]
    for label, build, torch_fn, inputs in cases:
        leaves = [leaf(submission, t) for t in inputs]
        loss = build(*leaves)
        loss.backward()
        expected = autograd(torch_fn, *inputs)
        assert_close(loss.get("data"), torch_fn(*inputs), name=f"({label}).data", device=device)
        for k, (v, e) in enumerate(zip(leaves, expected)):
            assert_close(value_grad(v, f"input {k} of {label}"), e, name=f"{label}: grad of input {k}", device=device)


@pytest.mark.uses(add_backward="test_add_backward", mul_backward="test_mul_backward", matmul_backward="test_matmul_backward", tanh_backward="test_tanh_backward", log_backward="test_log_backward", softmax_backward="test_softmax_backward", cross_entropy_backward="test_cross_entropy_backward", unbroadcast="test_unbroadcast")
def test_value_mlp(submission, device):
    """A two-layer classifier: loss = cross_entropy(tanh(x @ W1 + b1) @ W2 + b2, y)."""
    for seed, (n, d, h, c) in enumerate([(8, 5, 7, 3), (1, 4, 6, 2)]):
        x, w1, b1 = randn(400 + seed, n, d), randn(410 + seed, d, h) * 0.5, randn(420 + seed, h)
        w2, b2 = randn(430 + seed, h, c) * 0.5, randn(440 + seed, c)
        y = torch.randint(0, c, (n,), generator=torch.Generator().manual_seed(450 + seed))
        X, W1, B1, W2, B2 = (leaf(submission, t) for t in (x, w1, b1, w2, b2))
        loss = X.matmul(W1).add(B1).tanh().matmul(W2).add(B2).cross_entropy(y)
        loss.backward()

        def f(x, w1, b1, w2, b2):
            return F.cross_entropy(torch.tanh(x @ w1 + b1) @ w2 + b2, y)

        expected = autograd(f, x, w1, b1, w2, b2)
        label = f"MLP loss (x [{n}, {d}], W1 [{d}, {h}], b1 [{h}], W2 [{h}, {c}], b2 [{c}])"
        assert_close(loss.get("data"), f(x, w1, b1, w2, b2), name=f"{label}.data", device=device)
        for name, v, e in zip(["x", "W1", "b1", "W2", "b2"], [X, W1, B1, W2, B2], expected):
            assert_close(value_grad(v, name), e, name=f"{label}: grad of {name}", device=device)


@pytest.mark.uses(add_backward="test_add_backward", mul_backward="test_mul_backward", matmul_backward="test_matmul_backward", tanh_backward="test_tanh_backward", log_backward="test_log_backward", softmax_backward="test_softmax_backward", cross_entropy_backward="test_cross_entropy_backward", unbroadcast="test_unbroadcast")
def test_value_shared_nodes(submission, device):
    """Nodes used more than once: their gradients from every use must add up, each exactly once."""
    x, w = randn(500, 3, 4), randn(501, 4)
    X, W = leaf(submission, x), leaf(submission, w)
    h = X.mul(W).tanh()                      # h feeds three places
    loss = h.mul(h).add(h).matmul(leaf(submission, torch.ones(4, 1))).sum().add(X.sum())
    loss.backward()

    def f(x, w):
        h = torch.tanh(x * w)
        return ((h * h + h) @ torch.ones(4, 1)).sum() + x.sum()

    expected = autograd(f, x, w)
    for name, v, e in zip(["x", "w"], [X, W], expected):
        got = value_grad(v, name)
        if isinstance(got, torch.Tensor) and got.shape == e.shape and not torch.allclose(got, e, rtol=1e-4, atol=1e-5):
            fail(f"loss = sum((h*h + h) @ 1) + sum(x) with h = tanh(x * w): grad of {name} is wrong. "
                 "h (and x) are used more than once: add (+=) the gradient from each use instead of "
                 "overwriting it, and run each node's backward only once, after all its uses have "
                 "contributed (walk the nodes in reverse topological order)")
        assert_close(got, e, name=f"shared-node loss: grad of {name}", device=device)


@pytest.mark.uses(add_backward="test_add_backward", mul_backward="test_mul_backward", matmul_backward="test_matmul_backward", tanh_backward="test_tanh_backward", log_backward="test_log_backward", softmax_backward="test_softmax_backward", cross_entropy_backward="test_cross_entropy_backward", unbroadcast="test_unbroadcast")
def test_value_gradients_are_separate_tensors(submission, device):
    """add_backward (through unbroadcast) may hand back grad_out itself for both inputs: then two
    nodes' .grad are one tensor, and accumulating in place (`parent.grad += g`) changes both."""
    x, y = randn(510, 3, 4), randn(511, 3, 4)
    graphs = [("tanh((x + y) + x).sum()", lambda X, Y: X.add(Y).add(X).tanh().sum(),
               lambda x, y: torch.tanh((x + y) + x).sum()),
              ("tanh(x + y).sum() + tanh(x).sum()", lambda X, Y: X.add(Y).tanh().sum().add(X.tanh().sum()),
               lambda x, y: torch.tanh(x + y).sum() + torch.tanh(x).sum())]
    for label, build, torch_fn in graphs:
        X, Y = leaf(submission, x), leaf(submission, y)
        build(X, Y).backward()
        expected = autograd(torch_fn, x, y)
        got = [value_grad(X, "x"), value_grad(Y, "y")]
        right = [isinstance(g, torch.Tensor) and g.shape == e.shape and torch.allclose(g, e, rtol=1e-4, atol=1e-5)
                 for g, e in zip(got, expected)]
        if right[0] and not right[1]:
            fail(f"loss = {label}: grad of x is right but grad of y is wrong. add_backward hands back the same "
                 "tensor (grad_out, through unbroadcast) for x and y, so x.grad and y.grad were one tensor, and "
                 "adding x's second gradient in place (parent.grad += g) changed y's too. Accumulate into a new "
                 "tensor: parent.grad = parent.grad + g")
        for name, g, e in zip("xy", got, expected):
            assert_close(g, e, name=f"loss = {label}: grad of {name}", device=device)


def test_no_autograd(learner_source):
    # the page's rule, read from the source on the trusted side (the worker's word is not taken)
    forbid_calls(learner_source, ["torch.autograd", "torch.func", "functorch", "torch.nn.Parameter",
                                  "torch.Tensor.backward", "torch.Tensor.requires_grad_", "torch.enable_grad"],
                 methods=["requires_grad_", "requires_grad", "retain_grad", "grad_fn"], keywords=["requires_grad"],
                 rule="the backward functions must derive their gradients: the exercise forbids torch.autograd "
                      "(requires_grad, torch.autograd.grad, torch.func) anywhere in your file")
