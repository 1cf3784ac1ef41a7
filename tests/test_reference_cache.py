"""Cached reference results (issue 14, part 2): a pure reference call is answered from the cache
on the next check, a call that changes its arguments, returns one of them or a view of one, or
builds an autograd graph is made every time, a call that draws from the global generators is
answered with them left as it left them, a changed grader or solution or a corrupt entry is a
miss, grade neither reads nor writes the cache, a sandboxed worker cannot reach it, and
MI_EXERCISE_REFERENCE_CACHE=off turns it off.

Most tests use `tiny-ref`, an exercise made here in a temp content root, whose reference writes
the name of each function to a log file as it runs: the log says which calls the cache answered."""

from __future__ import annotations

import hashlib
import json
import random
import textwrap
import types
from pathlib import Path

import pytest
import torch

from mi_exercise.runner import reference_cache as rc
from tests.conftest import copy_content, run_cli
from tests.test_sandbox import needs_sandbox

SOLUTION = '''\
"""tiny-ref: the reference solution. Each function logs its name when it runs."""
import random

import torch

LOG = {log!r}


def _called(name):
    with open(LOG, "a") as fh:
        fh.write(name + "\\n")


def double(x):
    _called("double")
    return x * 2


def double_in_place(x):  # changes its argument: never cached
    _called("double_in_place")
    x.mul_(2)
    return x.clone()


def noisy(x):  # draws from torch's global generator
    _called("noisy")
    return x + torch.randn(x.shape)


def shuffled(n):  # draws from python's random
    _called("shuffled")
    items = list(range(n))
    random.shuffle(items)
    return items


def first_row(x):  # a view of its argument
    _called("first_row")
    return x[0]


def itself(items):  # its argument itself
    _called("itself")
    return items


def with_grad(x):  # a result with an autograd graph
    _called("with_grad")
    return x * 2
'''

LEARNER = '''\
import random

import torch


def double(x):
    return x * {factor}


def double_in_place(x):  # the learner's may not change its argument (the proxy says so)
    return x * 2


def probe(root, entry):
    """What this worker can do to the cache folder: see it, read an entry, list it, write in it."""
    import os
    seen = [os.path.exists(root), os.path.exists(entry)]
    try:
        with open(entry, "rb") as fh:
            seen.append(len(fh.read()) > 0)
    except OSError:
        seen.append(False)
    try:
        seen.append(bool(os.listdir(root)))
    except OSError:
        seen.append(False)
    try:
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "planted"), "w") as fh:
            fh.write("x")
        seen.append(True)
    except OSError:
        seen.append(False)
    return seen
'''

GRADER = '''\
import os
import random

import torch

from mi_exercise.grading import assert_close, fail


def x(seed):
    return torch.randn(3, 4, generator=torch.Generator().manual_seed(seed))


def test_double(submission, reference):
    for seed in range(3):
        assert_close(submission.double(x(seed)), reference.double(x(seed)), name=f"double(x({seed}))")


def test_double_in_place(submission, reference):
    a = x(5)
    want = reference.double_in_place(a)
    if not torch.equal(a, x(5) * 2):
        raise RuntimeError("the reference's change in place was lost")
    assert_close(submission.double_in_place(x(5)), want, name="double_in_place(x(5))")


def test_noisy(submission, reference):
    for seed in (0, 1):
        torch.manual_seed(seed)
        got = reference.noisy(x(9))
        later = torch.randn(2)  # the grader's own draw after the reference's
        torch.manual_seed(seed)
        expected = x(9) + torch.randn(3, 4)
        if not (torch.equal(got, expected) and torch.equal(later, torch.randn(2))):
            raise RuntimeError(f"seed {seed}: the reference's draws, or the grader's after them, changed")
        assert_close(submission.double(got), got * 2, name="double(noisy)")


def test_shuffled(submission, reference):
    random.seed(3)
    got = reference.shuffled(10)
    later = random.random()
    random.seed(3)
    items = list(range(10))
    random.shuffle(items)
    if got != items or later != random.random():
        raise RuntimeError("python's random draws changed")
    assert_close(submission.double(torch.tensor(got)), torch.tensor(got) * 2, name="double(shuffled)")


def test_views_and_graphs(submission, reference):
    a = x(7)
    row = reference.first_row(a)
    a[0, 0] = 100.0
    if row[0] != 100.0:
        raise RuntimeError("the reference's view of its argument is not a view")
    items = [1, 2]
    if reference.itself(items) is not items:
        raise RuntimeError("the reference's result is not its argument")
    leaf = x(8).requires_grad_(True)
    out = reference.with_grad(leaf)
    if out.grad_fn is None:
        raise RuntimeError("the reference's result lost its graph")
    out.sum().backward()
    if not torch.equal(leaf.grad, torch.full((3, 4), 2.0)):
        raise RuntimeError("the gradient through the reference is wrong")
    assert_close(submission.double(row), row * 2, name="double(first_row)")


def test_probe(submission):
    """Only in the sandbox test: the worker reaches nothing of the cache."""
    root = os.environ.get("MI_TEST_CACHE_ROOT")
    if not root:
        return
    entry = next(p for p in sorted(os.listdir(root)))
    folder = os.path.join(root, entry)
    entry = os.path.join(folder, sorted(os.listdir(folder))[0])
    seen = submission.probe(root, entry)
    if any(seen[:4]):  # a write may land in the sandbox's own /tmp: the test looks for it outside
        fail(f"the worker reached the cache: {seen} (exists, entry exists, read, listed, wrote)")
'''

EXERCISE_TOML = '''\
slug = "tiny-ref"
title = "Tiny reference"
chapter = "foundations"
order = 98
summary = "Functions whose reference calls are cached, or not."
prerequisites = []
hints = ["Double it."]

[limits]
test_seconds = 120
check_seconds = 600
'''

STUB = "def double(x):\n    raise NotImplementedError('double')\n\n\ndef double_in_place(x):\n    raise NotImplementedError\n"

# what one check of the solution calls on the reference, without a cache
ALL_CALLS = {"double": 3, "double_in_place": 1, "noisy": 2, "shuffled": 1, "first_row": 1, "itself": 1, "with_grad": 1}
# what is still called once the cache is warm: the impure calls
IMPURE_CALLS = {"double_in_place": 1, "first_row": 1, "itself": 1, "with_grad": 1}


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """(content root, log file, its exercise) with the cache in this test's own folder."""
    root = copy_content(tmp_path / "content", [])
    ex_dir, gr_dir = root / "exercises" / "foundations" / "tiny-ref", root / "graders" / "foundations" / "tiny-ref"
    ex_dir.mkdir(parents=True)
    gr_dir.mkdir(parents=True)
    (ex_dir / "exercise.toml").write_text(EXERCISE_TOML)
    (ex_dir / "page.md").write_text("# Tiny reference\n")
    (ex_dir / "stub.py").write_text(STUB)
    log = tmp_path / "calls.log"
    (gr_dir / "solution.py").write_text(SOLUTION.format(log=str(log)))
    (gr_dir / "test_tiny_ref.py").write_text(GRADER)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MI_EXERCISE_CONTENT", str(root))
    monkeypatch.delenv(rc.ENV, raising=False)
    monkeypatch.setattr(rc, "MIN_CALL_SECONDS", 0.0)  # every call is worth caching here
    monkeypatch.setattr(rc, "FAST", {})
    from mi_exercise.catalog.loader import load_catalog

    yield root, log, load_catalog(root).get("tiny-ref")
    forget_reference(gr_dir / "solution.py")


def forget_reference(path: Path) -> None:
    """Drop the imported reference, as a new process would not have it."""
    from mi_exercise.runner import plugin

    plugin._reference_cache.pop(path.resolve(), None)
    plugin._reference_loaded.pop(path.resolve(), None)


def learner(tmp_path: Path, factor: int = 2) -> Path:
    path = tmp_path / "learner" / "tiny_ref.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(LEARNER.format(factor=factor))
    return path


def calls(log: Path) -> dict:
    """The reference functions called since the last look, with their counts."""
    if not log.exists():
        return {}
    names = log.read_text().split()
    log.unlink()
    return {n: names.count(n) for n in dict.fromkeys(names)}


def check(ex, path: Path, **kwargs):
    from mi_exercise.runner.check import run_check

    return run_check(ex, path, device="cpu", **kwargs)


def outcomes(result) -> dict:
    return {t.name: (t.outcome.value, t.message) for t in result.tests}


def assert_passed(result) -> None:
    assert result.passed and not result.problem, [(t.name, t.outcome.value, t.message[:300]) for t in result.tests]


def entries(cache: Path) -> dict:
    """Every file under the reference cache: relative path -> sha256 of its bytes."""
    root = cache / "mi-exercise" / "reference"
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()} if root.is_dir() else {}


# -- through run_check --------------------------------------------------------------------------
def test_a_warm_check_calls_only_the_impure_reference_functions(tiny, tmp_path):
    _root, log, ex = tiny
    path = learner(tmp_path)
    rc.stats.reset()
    assert_passed(check(ex, path))
    assert calls(log) == ALL_CALLS
    assert rc.stats.stored == 6  # double x3, noisy x2 (under a marker each), shuffled
    assert_passed(check(ex, path))
    assert calls(log) == IMPURE_CALLS  # noisy and shuffled too: their draws are replayed, the generators restored
    assert rc.stats.hits == 6
    assert set(rc.stats.not_stored) == {"mutated", "aliased", "result"}
    assert len(list((tmp_path / "cache" / "mi-exercise" / "reference").iterdir())) == 1


def test_impure_and_random_reference_calls_give_the_verdicts_they_give_without_the_cache(tiny, tmp_path, monkeypatch):
    _root, log, ex = tiny
    wrong = learner(tmp_path, factor=3)
    monkeypatch.setenv(rc.ENV, "off")
    without = outcomes(check(ex, wrong))
    monkeypatch.delenv(rc.ENV)
    cold, warm = outcomes(check(ex, wrong)), outcomes(check(ex, wrong))
    assert without == cold == warm
    assert without["test_double"][0] == "failed" and without["test_noisy"][0] == "failed"
    assert without["test_double_in_place"][0] == "passed"
    calls(log)
    assert_passed(check(ex, learner(tmp_path)))  # the cache the wrong file filled serves the right one...
    # ...where the wrong file's check made the same calls: its test_double and test_noisy stopped at their first
    assert calls(log) == {"double": 2, "noisy": 1, **IMPURE_CALLS}


def test_a_changed_grader_or_solution_is_a_new_key_and_the_old_entries_go(tiny, tmp_path):
    root, log, ex = tiny
    path = learner(tmp_path)
    folders = tmp_path / "cache" / "mi-exercise" / "reference"
    assert_passed(check(ex, path))
    first = {p.name for p in folders.iterdir()}
    calls(log)
    grader = root / "graders" / "foundations" / "tiny-ref" / "test_tiny_ref.py"
    grader.write_text(grader.read_text() + "\n# edited\n")
    assert_passed(check(ex, path))
    assert calls(log) == ALL_CALLS
    second = {p.name for p in folders.iterdir()}
    assert len(second) == 1 and second != first  # the stale folder of the slug was removed

    solution = root / "graders" / "foundations" / "tiny-ref" / "solution.py"
    solution.write_text(solution.read_text() + "\n# edited\n")
    forget_reference(solution)  # as a new process: it imports the edited file
    assert_passed(check(ex, path))
    assert calls(log) == ALL_CALLS
    assert {p.name for p in folders.iterdir()} not in (first, second)

    # mutants and alternatives are not part of the key: validate's trials share the solution's entries
    (root / "graders" / "foundations" / "tiny-ref" / "mutants").mkdir()
    (root / "graders" / "foundations" / "tiny-ref" / "mutants" / "triple.py").write_text('"""x3."""\n')
    assert_passed(check(ex, path))
    assert calls(log) == IMPURE_CALLS


def test_a_corrupt_entry_is_a_miss_and_is_written_again(tiny, tmp_path):
    _root, log, ex = tiny
    path = learner(tmp_path)
    assert_passed(check(ex, path))
    calls(log)
    folder = next((tmp_path / "cache" / "mi-exercise" / "reference").iterdir())
    files = sorted(folder.iterdir())
    for i, f in enumerate(files):
        data = bytearray(f.read_bytes())
        if i % 3 == 0:
            data[-1] ^= 0xFF  # a flipped bit: the checksum catches it
        elif i % 3 == 1:
            data = data[:len(data) // 2]  # cut short
        else:
            data = bytearray(b"not an entry")
        f.write_bytes(bytes(data))
    assert_passed(check(ex, path))
    assert calls(log) == ALL_CALLS
    assert_passed(check(ex, path))
    assert calls(log) == IMPURE_CALLS


def test_the_environment_turns_it_off(tiny, tmp_path, monkeypatch):
    _root, log, ex = tiny
    monkeypatch.setenv(rc.ENV, "off")
    path = learner(tmp_path)
    for _ in range(2):
        assert_passed(check(ex, path))
        assert calls(log) == ALL_CALLS
    assert entries(tmp_path / "cache") == {}
    monkeypatch.delenv(rc.ENV)
    assert_passed(check(ex, path, reference_cache=False))  # run_check's own switch
    assert entries(tmp_path / "cache") == {}


def poison(cache: Path) -> int:
    """Every stored result turned into a wrong one (as a submission that could write here would)."""
    n = 0
    for folder in (cache / "mi-exercise" / "reference").iterdir():
        store = rc.Store(folder)
        for f in folder.iterdir():
            value = store.get(f.name)
            if value and value["kind"] == "result" and isinstance(value["result"], torch.Tensor):
                value["result"] = value["result"] + 1000
                assert store.put(f.name, value)
                n += 1
    return n


def test_grade_neither_reads_nor_writes_the_cache(tiny, tmp_path):
    root, log, ex = tiny
    path = learner(tmp_path)
    assert_passed(check(ex, path))
    assert poison(tmp_path / "cache") == 5
    poisoned = outcomes(check(ex, path))
    assert poisoned["test_double"][0] == "failed"  # check reads what is there: the poison works
    before = entries(tmp_path / "cache")
    calls(log)

    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.workspace.workspace import chapter_folder

    sub = tmp_path / "class" / "alice" / chapter_folder(load_catalog(root), ex) / "tiny_ref.py"
    sub.parent.mkdir(parents=True)
    sub.write_text(path.read_text())
    out = tmp_path / "out"
    result = run_cli("grade", str(tmp_path / "class" / "alice"), "--out", str(out), "--no-sandbox", "--jobs", "1",
                     env={"MI_EXERCISE_CONTENT": str(root), "XDG_CACHE_HOME": str(tmp_path / "cache")}, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls(log) == ALL_CALLS  # every reference call made
    assert entries(tmp_path / "cache") == before  # nothing written, nothing removed


# -- the sandbox ----------------------------------------------------------------------------------
@needs_sandbox
@pytest.mark.parametrize("where", ["apart", "inside the learner's folder"])
def test_a_sandboxed_worker_cannot_read_or_write_the_cache(tiny, tmp_path, monkeypatch, where):
    from mi_exercise.sandbox import probe

    _root, _log, ex = tiny
    path = learner(tmp_path)
    if where != "apart":
        monkeypatch.setenv("XDG_CACHE_HOME", str(path.parent / "xdg"))
    sandbox = probe()  # makes the cache folder (its filter file lives there) before the prefix is built
    assert_passed(check(ex, path))  # entries to find
    cache = rc.cache_root()
    assert any(cache.rglob("*")), "no entries were written"
    monkeypatch.setenv("MI_TEST_CACHE_ROOT", str(cache))
    result = check(ex, path, sandbox=sandbox.prefix(readable=[path.parent]))
    assert_passed(result)
    assert not (cache / "planted").exists()


def test_the_cache_folder_is_hidden_from_every_sandbox():
    from mi_exercise.paths import user_dir
    from mi_exercise.sandbox.bwrap import always_hidden

    assert user_dir("cache") in always_hidden()
    assert rc.cache_root().is_relative_to(user_dir("cache"))


# -- the proxy, in this process ---------------------------------------------------------------------
def module_from(source: str, name: str = "mi_exercise_reference_test") -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(textwrap.dedent(source), f"<{name}>", "exec"), module.__dict__)  # noqa: S102
    return module


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    monkeypatch.setattr(rc, "MIN_CALL_SECONDS", 0.0)
    monkeypatch.setattr(rc, "FAST", {})
    rc.stats.reset()
    return rc.Store(tmp_path / "store", prefix="test-")


def test_the_proxy_is_the_module_with_its_functions_wrapped(fresh):
    module = module_from('''
        import torch
        from math import sqrt
        SCALE = 3
        class Box:
            def __init__(self, v): self.v = v
        def _call(x): return x  # a name the proxy must not hide
        def scaled(x): return x * SCALE
    ''')
    ref = rc.ReferenceProxy(module, fresh)
    assert ref.Box is module.Box and ref.sqrt is module.sqrt and ref.SCALE == 3 and ref.torch is torch
    assert ref.scaled is ref.scaled and ref.scaled.__wrapped__ is module.scaled and ref.scaled.__name__ == "scaled"
    assert ref._call(4) == 4 and ref.__name__ == module.__name__ and "scaled" in dir(ref)
    assert ref.scaled(torch.ones(2)).tolist() == [3.0, 3.0]
    assert ref.scaled(torch.ones(2)).tolist() == [3.0, 3.0] and rc.stats.hits == 1
    ref.SCALE = 5  # a grader that patches the reference: nothing is cached from then on
    assert module.SCALE == 5 and ref.scaled(torch.ones(2)).tolist() == [5.0, 5.0]
    assert rc.stats.not_stored["patched"] == 1


def test_results_come_back_exactly(fresh):
    module = module_from('''
        import torch
        def many(x, *, k=1):
            t = torch.arange(12.).reshape(3, 4)
            return {"t": t.t(), "i": torch.tensor([1, 2], dtype=torch.int16), "size": t.shape,
                    "dtype": t.dtype, "pair": (k, -0.0, float("nan")), "list": [None, True, "s", b"b", 2j]}
        def raw(n): return bytearray(n)
        def grads(x): return torch.ones(2, requires_grad=True)
    ''')
    ref = rc.ReferenceProxy(module, fresh)
    first = ref.many(torch.zeros(1), k=2)
    again = ref.many(torch.zeros(1), k=2)
    assert rc.stats.hits == 1
    assert again["t"].stride() == first["t"].stride() == (1, 4) and torch.equal(again["t"], first["t"])
    assert again["i"].dtype is torch.int16 and type(again["size"]) is torch.Size and again["dtype"] is torch.float32
    assert type(again["pair"]) is tuple and str(again["pair"][1]) == "-0.0" and again["pair"][2] != again["pair"][2]
    assert again["list"] == [None, True, "s", b"b", 2j]
    assert type(ref.raw(3)) is bytearray and type(ref.raw(3)) is bytearray  # bytes would come back: not stored
    assert ref.grads(1).requires_grad and ref.grads(1).is_leaf and rc.stats.hits == 2  # a new leaf stays one


def test_draws_from_the_global_generators_are_replayed_with_them(fresh):
    module = module_from('''
        import random, torch
        def draw(n): return torch.rand(n), random.random()
        def torch_only(n): return torch.rand(n)
    ''')
    ref = rc.ReferenceProxy(module, fresh)

    def run(fn):
        torch.manual_seed(5)
        random.seed(6)
        out = fn(3)
        return out, torch.rand(1), random.random()

    plain = run(module.draw)
    first, again = run(ref.draw), run(ref.draw)
    assert rc.stats.hits == 1
    for got in (first, again):
        assert torch.equal(got[0][0], plain[0][0]) and got[0][1] == plain[0][1]
        assert torch.equal(got[1], plain[1]) and got[2] == plain[2]
    torch.manual_seed(7)
    assert not torch.equal(ref.draw(3)[0], first[0][0])  # another state before: another key
    # a call that draws from torch only is keyed on torch only: python's random may be anywhere
    random.seed(1)
    torch.manual_seed(5)
    a = ref.torch_only(3)
    random.seed(2)
    torch.manual_seed(5)
    b = ref.torch_only(3)
    assert torch.equal(a, b) and rc.stats.hits == 2


def test_the_store_bounds_its_size_and_never_raises(fresh, tmp_path, monkeypatch):
    module = module_from('''
        import torch
        def big(n): return torch.zeros(n)
    ''')
    ref = rc.ReferenceProxy(module, fresh)
    monkeypatch.setattr(rc, "MAX_RESULT_BYTES", 4096)
    ref.big(10_000)
    assert rc.stats.not_stored["large"] == 1 and rc.stats.stored == 0
    monkeypatch.setattr(rc, "MAX_FOLDER_BYTES", 20_000)
    for n in range(1, 40):
        ref.big(n * 10)
    assert sum(f.stat().st_size for f in fresh.folder.iterdir()) <= 20_000
    # an unwritable folder: the call still answers
    broken = rc.ReferenceProxy(module, rc.Store(tmp_path / "file" / "store"))
    (tmp_path / "file").write_text("not a folder")
    assert broken.big(3).tolist() == [0.0, 0.0, 0.0]
    # a store that cannot even be made: the same
    def no_store():
        raise OSError("no")
    assert rc.ReferenceProxy(module, no_store).big(2).tolist() == [0.0, 0.0]


def test_stale_and_surplus_folders_are_pruned(tmp_path, monkeypatch):
    root = tmp_path / "reference"
    for name in ("slug-aaaa-old", "other-bbbb-x", "slug-cccc-elsewhere"):
        (root / name).mkdir(parents=True)
    store = rc.Store(root / "slug-aaaa-new", prefix="slug-aaaa-")
    assert store.put("k", {"kind": "result", "result": 1, "devices": []})
    assert sorted(p.name for p in root.iterdir()) == ["other-bbbb-x", "slug-aaaa-new", "slug-cccc-elsewhere"]
    monkeypatch.setattr(rc, "MAX_FOLDERS", 2)
    store = rc.Store(root / "third-dddd-y", prefix="third-dddd-")
    assert store.put("k", {"kind": "result", "result": 1, "devices": []})
    assert len(list(root.iterdir())) == 2 and (root / "third-dddd-y").is_dir()
    assert json.dumps(store.get("k")["result"]) == "1"


def test_a_factored_matrix_argument_is_keyed_by_its_factors(fresh):
    from transformer_lens import FactoredMatrix

    module = module_from('''
        from transformer_lens import FactoredMatrix
        def accuracy(circuit, k=1): return float((circuit.AB.topk(k, dim=-1).indices == 0).float().mean())
        def scale_a(circuit): circuit.A.mul_(2); return 1.0
        def same(circuit): return FactoredMatrix(circuit.A, circuit.B)
    ''')
    ref = rc.ReferenceProxy(module, fresh)
    a, b = torch.randn(6, 2, generator=torch.Generator().manual_seed(0)), torch.randn(2, 6)
    first = ref.accuracy(FactoredMatrix(a, b), k=2)
    assert ref.accuracy(FactoredMatrix(a.clone(), b.clone()), k=2) == first and rc.stats.hits == 1
    assert ref.accuracy(FactoredMatrix(a, b + 1), k=2) == module.accuracy(FactoredMatrix(a, b + 1), k=2)
    assert rc.stats.hits == 1  # other factors: another key
    # a dict holding the same attributes is not the FactoredMatrix
    fm = FactoredMatrix(a, b)
    with pytest.raises(AttributeError):
        ref.accuracy(dict(vars(fm)), k=2)
    fm.svd()  # a cached SVD: more than its factors, not keyed
    ref.accuracy(fm, k=2)
    assert rc.stats.not_stored["arguments"] == 1
    ref.scale_a(FactoredMatrix(a.clone(), b))
    assert rc.stats.not_stored["mutated"] == 1
    assert type(ref.same(FactoredMatrix(a, b))) is FactoredMatrix and rc.stats.not_stored["result"] == 1


def test_fast_calls_are_not_stored_and_a_slow_one_of_the_same_function_is(fresh, monkeypatch):
    monkeypatch.setattr(rc, "MIN_CALL_SECONDS", 0.005)
    module = module_from('''
        import time, torch
        def total(x):
            if x.numel() > 1000:
                time.sleep(0.02)
            return x.sum()
    ''')
    ref = rc.ReferenceProxy(module, fresh)
    for _ in range(3):
        assert ref.total(torch.ones(4)).item() == 4
    assert rc.stats.not_stored["fast"] == 3 and rc.stats.stored == 0
    assert rc.FAST["mi_exercise_reference_test.total"] >= 16  # the later two skipped the cache's work
    big = torch.ones(100_000)
    assert ref.total(big).item() == 100_000 and rc.stats.stored == 1
    assert ref.total(big).item() == 100_000 and rc.stats.hits == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA here")
def test_on_a_gpu_results_come_back_on_their_device_and_cuda_draws_are_replayed(fresh):
    module = module_from('''
        import torch
        def on_gpu(x): return {"same": x * 2, "cpu": x.sum().cpu()}
        def cuda_noise(x): return x + torch.randn(x.shape, device=x.device)
    ''')
    ref = rc.ReferenceProxy(module, fresh)
    x = torch.arange(6.0, device="cuda").reshape(2, 3)
    first, again = ref.on_gpu(x), ref.on_gpu(x)
    assert rc.stats.hits == 1
    assert again["same"].device == x.device and again["cpu"].device.type == "cpu"
    assert torch.equal(again["same"], first["same"]) and torch.equal(again["cpu"], first["cpu"])

    def run(fn):
        torch.cuda.manual_seed(3)
        out = fn(x)
        return out, torch.randn(2, device="cuda")

    plain = run(module.cuda_noise)
    for got in (run(ref.cuda_noise), run(ref.cuda_noise)):
        assert torch.equal(got[0], plain[0]) and torch.equal(got[1], plain[1])
    assert rc.stats.hits == 2


def test_a_result_from_the_cache_has_storage_of_its_own(fresh):
    module = module_from('''
        import torch
        def shapes(x): return torch.arange(3.).expand(4, 3), torch.arange(6.).reshape(2, 3).t()
    ''')
    ref = rc.ReferenceProxy(module, fresh)
    ref.shapes(1)
    wide, tall = ref.shapes(1)
    assert rc.stats.hits == 1
    assert wide.stride() == (0, 1) and tall.stride() == (1, 3) and tall.tolist() == [[0, 3], [1, 4], [2, 5]]
    tall.resize_(7)  # a storage of its own, resizable as a fresh tensor's is
    assert wide.untyped_storage().nbytes() == 3 * 4
