"""Grader for probability.

Closed-form functions are compared with the reference on seeded inputs (batches of one, odd
shapes, non-contiguous views, zeros in the distributions, points far out in the tails).
The samplers cannot be compared draw by draw (any correct sampler may use its random numbers
differently), so they are graded by determinism under a seed and by statistical tests whose
tolerances are wide enough that a correct sampler never fails and narrow enough that every
wrong one we know of fails by a mile; each tolerance is justified where it is set.
"""

import math

import torch

from mi_exercise.grading import assert_close, fail, forbid_calls


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(seed: int, *shape: int, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=gen(seed), dtype=dtype)


def distributions(seed: int, *shape: int, zeros: bool = False) -> torch.Tensor:
    """Random probability vectors along the last dimension; with zeros=True about a third of
    the entries are exactly 0."""
    p = torch.rand(*shape, generator=gen(seed)) + 0.05
    if zeros:
        keep = torch.rand(*shape, generator=gen(seed + 1000)) > 0.35
        keep[..., 0] = True  # at least one positive entry per row
        p = p * keep
    return p / p.sum(dim=-1, keepdim=True)


def test_gaussian_log_prob(submission, reference, device):
    cases = [
        ("x [5], mu [5], sigma [5]", randn(0, 5), randn(1, 5), randn(2, 5).abs() + 0.1),
        ("x [7, 3], mu [3], sigma [3]", randn(3, 7, 3), randn(4, 3), torch.tensor([0.5, 1.0, 3.0])),
        ("x [1, 1], mu [1], sigma [1]", randn(5, 1, 1), torch.zeros(1), torch.ones(1)),
        ("x [4, 6] (a transposed view), mu [4, 1], sigma [1]", randn(6, 6, 4).t(), randn(7, 4, 1), torch.tensor([2.0])),
        ("float64 x [3, 2], mu [2], sigma [2]", randn(8, 3, 2, dtype=torch.float64),
         torch.tensor([0.0, 1.0], dtype=torch.float64), torch.tensor([0.2, 4.0], dtype=torch.float64)),
    ]
    for label, x, mu, sigma in cases:
        assert_close(submission.gaussian_log_prob(x, mu, sigma), reference.gaussian_log_prob(x, mu, sigma),
                     name=f"gaussian_log_prob({label})", device=device)
    # Far out in the tails the density underflows to 0 in float32 (exp(-5e5)); its log does not.
    x = torch.tensor([1000.0, -1000.0, 3000.0])
    mu, sigma = torch.zeros(3), torch.tensor([1.0, 1.0, 3.0])
    got = submission.gaussian_log_prob(x, mu, sigma)
    if isinstance(got, torch.Tensor) and not torch.isfinite(got).all():
        fail(f"gaussian_log_prob(x = [1000, -1000, 3000], mu = 0, sigma = [1, 1, 3]) gave {got.tolist()}: "
             "computing the density and then taking its log underflows to log(0) = -inf far from the mean; "
             "write the log density directly: -(x - mu)^2 / (2 sigma^2) - log(sigma) - log(2 pi) / 2")
    assert_close(got, reference.gaussian_log_prob(x, mu, sigma),
                 name="gaussian_log_prob(x = [1000, -1000, 3000], mu = 0, sigma = [1, 1, 3])", device=device)


def test_gaussian_mle(submission, reference, device):
    cases = [
        ("x [50, 3]", randn(10, 50, 3) * torch.tensor([0.5, 2.0, 7.0]) + torch.tensor([1.0, -3.0, 0.0])),
        ("x [2, 1]", randn(11, 2, 1)),
        ("x [9, 4] (a transposed view)", randn(12, 4, 9).t() * 3 + 1),
        ("float64 x [20, 2]", randn(13, 20, 2, dtype=torch.float64)),
    ]
    for label, x in cases:
        got = submission.gaussian_mle(x)
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            fail(f"gaussian_mle({label}) should return a pair (mu, sigma), got {type(got).__name__}")
        mu, sigma = reference.gaussian_mle(x)
        assert_close(got[0], mu, name=f"gaussian_mle({label}) mu", device=device)
        if got[1].shape == sigma.shape and torch.allclose(got[1], x.std(dim=0), rtol=1e-4):
            fail(f"gaussian_mle({label}) sigma equals the sample standard deviation (divide by n - 1); "
                 "the maximum-likelihood estimate divides by n")
        assert_close(got[1], sigma, name=f"gaussian_mle({label}) sigma", device=device)


def test_entropy(submission, reference, device):
    cases = [
        ("p [6]", distributions(20, 6)),
        ("p [4, 5]", distributions(21, 4, 5)),
        ("p [2, 3, 7] with zeros", distributions(22, 2, 3, 7, zeros=True)),
        ("p [1, 1]", torch.ones(1, 1)),
        ("p [8, 3] (a non-contiguous view)", distributions(23, 8, 3).t().contiguous().t()),
    ]
    for label, p in cases:
        assert_close(submission.entropy(p), reference.entropy(p), name=f"entropy({label})", device=device)
    uniform = torch.full((3, 10), 0.1)
    assert_close(submission.entropy(uniform), torch.full((3,), math.log(10)),
                 name="entropy(uniform p [3, 10]) (should be log 10)", device=device)
    onehot = torch.eye(4)
    got = submission.entropy(onehot)
    if isinstance(got, torch.Tensor) and torch.isnan(got).any():
        fail("entropy(one-hot rows) gave NaN: 0 * log(0) is 0 * -inf = NaN in floating point; "
             "treat entries with p = 0 as contributing 0 (torch.special.xlogy does this)")
    assert_close(got, torch.zeros(4), name="entropy(one-hot rows [4, 4]) (should be 0)", device=device)


def test_cross_entropy(submission, reference, device):
    cases = [
        ("p [5], q [5]", distributions(30, 5), distributions(31, 5)),
        ("p [3, 4], q [3, 4]", distributions(32, 3, 4), distributions(33, 3, 4)),
        ("p [1, 9], q [1, 9]", distributions(34, 1, 9), distributions(35, 1, 9)),
        ("p [6, 5] with zeros, q [6, 5]", distributions(36, 6, 5, zeros=True), distributions(37, 6, 5)),
    ]
    for label, p, q in cases:
        assert_close(submission.cross_entropy(p, q), reference.cross_entropy(p, q),
                     name=f"cross_entropy({label})", device=device)
    # p is zero exactly where q is zero: those terms are 0 * log 0 and must count as 0.
    p = distributions(38, 4, 6, zeros=True)
    q = distributions(39, 4, 6) * (p > 0)
    q = q / q.sum(dim=-1, keepdim=True)
    got = submission.cross_entropy(p, q)
    if isinstance(got, torch.Tensor) and torch.isnan(got).any():
        fail("cross_entropy(p, q) with p = q = 0 in some entries gave NaN: 0 * log(0) must count as 0 "
             "(torch.special.xlogy(p, q) does this)")
    assert_close(got, reference.cross_entropy(p, q), name="cross_entropy(p [4, 6], q [4, 6], zero where p is zero)",
                 device=device)


def test_kl_divergence(submission, reference, device):
    cases = [
        ("p [5], q [5]", distributions(40, 5), distributions(41, 5)),
        ("p [3, 4], q [3, 4]", distributions(42, 3, 4), distributions(43, 3, 4)),
        ("p [2, 2, 8], q [2, 2, 8]", distributions(44, 2, 2, 8), distributions(45, 2, 2, 8)),
    ]
    for label, p, q in cases:
        got = submission.kl_divergence(p, q)
        if isinstance(got, torch.Tensor) and got.shape == p.shape[:-1] and \
                torch.allclose(got, reference.kl_divergence(q, p), rtol=1e-4, atol=1e-6):
            fail(f"kl_divergence({label}) returned KL(q || p): the arguments are the wrong way round. "
                 "KL(p || q) = sum p * (log p - log q), weighted by p")
        assert_close(got, reference.kl_divergence(p, q), name=f"kl_divergence({label})", device=device)
    p = distributions(46, 4, 7, zeros=True)
    q = distributions(47, 4, 7)
    got = submission.kl_divergence(p, q)
    if isinstance(got, torch.Tensor) and torch.isnan(got).any():
        fail("kl_divergence(p, q) with zeros in p gave NaN: terms with p = 0 must count as 0, "
             "but p * log(p / q) is 0 * -inf = NaN there (torch.special.xlogy avoids it)")
    assert_close(got, reference.kl_divergence(p, q), name="kl_divergence(p [4, 7] with zeros, q [4, 7])", device=device)
    assert_close(submission.kl_divergence(q, q), torch.zeros(4), name="kl_divergence(q, q) (should be 0)",
                 device=device, atol=1e-6)


def test_sample_categorical_reproducible(submission, device):
    w = torch.tensor([1.0, 2.0, 3.0, 4.0])
    a = submission.sample_categorical(w, 1000, 7)
    if not isinstance(a, torch.Tensor):
        fail(f"sample_categorical should return a tensor, got {type(a).__name__}")
    if a.dtype != torch.int64 or a.shape != (1000,):
        fail(f"sample_categorical(weights [4], 1000, seed) should return int64 [1000], got {a.dtype} {list(a.shape)}")
    if a.min() < 0 or a.max() > 3:
        fail(f"sample_categorical(weights [4], ...) returned values outside 0..3 (min {a.min()}, max {a.max()})")
    b = submission.sample_categorical(w, 1000, 7)
    if not torch.equal(a, b):
        fail("sample_categorical(w, 1000, seed=7) gave different samples on a second call with the same seed: "
             "draw only from torch.Generator().manual_seed(seed), not from the global random state")
    c = submission.sample_categorical(w, 1000, 8)
    if torch.equal(a, c):
        fail("sample_categorical gave identical samples for seeds 7 and 8: the seed must seed the generator")
    one = submission.sample_categorical(torch.tensor([0.0, 5.0, 0.0]), 50, 3)
    assert_close(one, torch.ones(50, dtype=torch.int64),
                 name="sample_categorical(weights = [0, 5, 0], 50, seed) (only class 1 has weight)", device=device)


def test_sample_categorical_frequencies(submission):
    # Each class count is Binomial(n, p_i): its standard error is sqrt(n p_i (1 - p_i)). We allow
    # 6 standard errors per class; a correct sampler exceeds that with probability < 2e-9 per
    # class (about 1e-8 over the whole test), while an unnormalised or shifted CDF is off by
    # hundreds of standard errors at n = 100000.
    n = 100_000
    cases = [
        ("[1, 2, 3, 4] (weights not summing to 1)", torch.tensor([1.0, 2.0, 3.0, 4.0]), 11),
        ("[0.05, 0.6, 0.35]", torch.tensor([0.05, 0.6, 0.35]), 12),
        ("[0, 3, 0, 1, 0, 6] (zero weights)", torch.tensor([0.0, 3.0, 0.0, 1.0, 0.0, 6.0]), 13),
        ("[0.25] * 8", torch.full((8,), 0.25), 14),
    ]
    for label, w, seed in cases:
        s = submission.sample_categorical(w, n, seed)
        if not isinstance(s, torch.Tensor) or s.shape != (n,):
            fail(f"sample_categorical(weights {label}, {n}, seed) should return a tensor [{n}]")
        s = s.to(torch.int64)
        if s.min() < 0 or s.max() >= len(w):
            fail(f"sample_categorical(weights {label}) returned a class outside 0..{len(w) - 1}")
        p = w / w.sum()
        counts = torch.bincount(s, minlength=len(w)).double()
        for i in range(len(w)):
            if p[i] == 0:
                if counts[i] > 0:
                    fail(f"sample_categorical(weights {label}) drew class {i} {int(counts[i])} times, "
                         "but its weight is 0")
                continue
            expected = n * p[i].item()
            se = math.sqrt(n * p[i].item() * (1 - p[i].item()))
            if abs(counts[i] - expected) > 6 * se:
                freqs = ", ".join(f"{c / n:.3f}" for c in counts.tolist())
                probs = ", ".join(f"{v:.3f}" for v in p.tolist())
                fail(f"sample_categorical(weights {label}, {n} draws): class frequencies [{freqs}] but the "
                     f"probabilities are [{probs}] (class {i} is {abs(counts[i] - expected) / se:.0f} standard "
                     "errors off). Normalise the weights so the CDF ends at 1, and pick the first class "
                     "whose cumulative probability exceeds the uniform draw")


def test_sample_gaussian_reproducible(submission, device):
    mu, sigma = torch.tensor([0.0, 5.0, -2.0]), torch.tensor([1.0, 0.5, 3.0])
    a = submission.sample_gaussian(mu, sigma, 200, 21)
    if not isinstance(a, torch.Tensor):
        fail(f"sample_gaussian should return a tensor, got {type(a).__name__}")
    if a.shape != (200, 3) or a.dtype != torch.float32:
        fail(f"sample_gaussian(mu [3], sigma [3], 200, seed) should return float32 [200, 3], "
             f"got {a.dtype} {list(a.shape)}")
    b = submission.sample_gaussian(mu, sigma, 200, 21)
    if not torch.equal(a, b):
        fail("sample_gaussian(mu, sigma, 200, seed=21) gave different samples on a second call with the same "
             "seed: draw only from torch.Generator().manual_seed(seed), not from the global random state")
    if torch.equal(a, submission.sample_gaussian(mu, sigma, 200, 22)):
        fail("sample_gaussian gave identical samples for seeds 21 and 22: the seed must seed the generator")
    d = submission.sample_gaussian(mu.double(), sigma.double(), 5, 1)
    if not isinstance(d, torch.Tensor) or d.dtype != torch.float64 or d.shape != (5, 3):
        fail("sample_gaussian(float64 mu [3], float64 sigma [3], 5, seed) should return float64 [5, 3]")


def test_sample_gaussian_moments(submission):
    # With n draws the sample mean has standard error sigma / sqrt(n) and the (population) sample
    # standard deviation has standard error about sigma / sqrt(2 n). We allow 6 standard errors
    # for each of the 2 * d statistics, so a correct sampler fails with probability < 1e-8;
    # using the variance sigma^2 as the scale, or leaving out mu, is off by hundreds of them.
    # The correlation between columns must stay within 6 / sqrt(n) of 0 (independent draws).
    n = 50_000
    mu = torch.tensor([0.0, 5.0, -2.0, 10.0])
    sigma = torch.tensor([1.0, 0.5, 3.0, 2.0])
    s = submission.sample_gaussian(mu, sigma, n, 5)
    if not isinstance(s, torch.Tensor) or s.shape != (n, 4):
        fail(f"sample_gaussian(mu [4], sigma [4], {n}, seed) should return a tensor [{n}, 4]")
    s = s.double()
    if not torch.isfinite(s).all():
        fail("sample_gaussian returned NaN or inf")
    mean, std = s.mean(dim=0), s.std(dim=0, unbiased=False)
    for j in range(4):
        m, sd = mu[j].item(), sigma[j].item()
        if abs(mean[j].item() - m) > 6 * sd / math.sqrt(n):
            fail(f"sample_gaussian: column {j} has sample mean {mean[j].item():.4f} over {n} draws, "
                 f"but mu = {m} (standard error {sd / math.sqrt(n):.4f})")
        if abs(std[j].item() - sd) > 6 * sd / math.sqrt(2 * n):
            hint = " (that is sigma^2: sigma is already the standard deviation)" if abs(std[j].item() - sd**2) < 0.05 * sd**2 else ""
            fail(f"sample_gaussian: column {j} has sample standard deviation {std[j].item():.4f} over {n} draws, "
                 f"but sigma = {sd}{hint}")
    corr = torch.corrcoef(s.t())
    off = (corr - torch.eye(4, dtype=corr.dtype)).abs().max().item()
    if off > 6 / math.sqrt(n):
        fail(f"sample_gaussian: the columns are correlated (largest correlation {off:.3f}); draw an independent "
             "standard normal for every entry of the [n, d] result")


def test_samplers_use_their_own_generator_and_the_inverse_cdf(learner_source):
    # the stub's rules, read from the source on the trusted side: a global torch.manual_seed(seed)
    # is deterministic too, and torch.multinomial samples right, so no value test can see either
    forbid_calls(learner_source, ["torch.manual_seed", "torch.seed", "torch.random", "torch.default_generator",
                                  "torch.multinomial", "torch.Tensor.multinomial", "torch.distributions",
                                  "numpy.random", "random"],
                 methods=["multinomial"], within=["sample_categorical", "sample_gaussian"],
                 rule="the samplers must draw only from a torch.Generator built from the seed, and sample_categorical "
                      "by inverse-CDF sampling (uniform draws and the cumulative distribution): no global seeding, "
                      "no other random source (torch.distributions samples from the global one), no torch.multinomial")
