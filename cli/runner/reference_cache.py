"""Cached reference results: a warm check runs only the learner's code.

Graders call the reference solution on the trusted side (`reference.fn(x)`) on seeded inputs,
so the same calls come back on every check of an exercise, and on every trial of `validate`.
`ReferenceProxy` stands in for the reference module: attributes are the module's own, except
that plain functions defined in the module come back wrapped. A wrapped call is looked up by a
key over its name and arguments in the safe format (wire.py: a JSON tree and raw tensor bytes,
nothing pickled); on a hit the stored result is decoded (tensors back on the device they were
on); on a miss the function runs, and its result is stored only when the call was observed
pure:

- its arguments encode (no modules, handles, generators, ...) and their bytes are the same
  after the call (nothing changed in place), and a leaf argument's .grad is untouched;
- the result encodes exactly (types, dtypes, strides; no autograd graph, no tensor subclass)
  and shares nothing with an argument (a view or the same object stays what it was);
- the global random generators it drew from are known. A call that changed none is stored
  under its key alone; one that drew from some (torch, python `random`, numpy, CUDA) leaves a
  marker there naming them, and its result is stored under a second key over those generators'
  states before the call, with their states after: a hit restores them, so the grader's later
  draws are what they would have been. Only the generators a call drew from are keyed:
  python's `random` is seeded from the OS in every process, so keying every call on it would
  make every lookup from another process miss.

Calls faster than MIN_CALL_SECONDS are neither checked nor stored: reading an entry back would
cost more than they do.

Entries live in the user's cache folder (hidden from sandboxed workers with the rest of it,
bwrap.always_hidden), in `reference/<exercise key>/<call key>`. The exercise key covers the
grader folder (not mutants/ or alternatives/), the reference file and injected reference parts
as they were loaded, mi-exercise (version and files), torch and the other packages a reference
computes with, python, and the device: a changed grader or solution starts a new folder and
the old folders of that slug are removed. An entry is a magic line, the sha256 of its payload
and the payload (one wire frame); one that does not read back whole is a miss and is removed.
Writes are atomic (a temporary file, then rename); no error here ever fails a check.

`grade` never uses the cache (run_check(reference_cache=False)): an unsandboxed submission
runs as the same user, and could have written entries. MI_EXERCISE_REFERENCE_CACHE=off turns
it off everywhere.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import random
import shutil
import sys
import time
import types
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mi_exercise import __version__, paths
from mi_exercise.runner import wire

ENV = "MI_EXERCISE_REFERENCE_CACHE"
MAGIC = b"mi-exercise reference 1\n"
FORMAT = 1
MAX_RESULT_BYTES = 64 << 20  # a result larger than this is not stored
MAX_FOLDER_BYTES = 256 << 20  # one exercise key's folder is pruned to half past this
MAX_FOLDERS = 64  # exercise folders kept in all (the least recently used go first)
MIN_CALL_SECONDS = 0.001  # faster calls cost less than an entry's read
# "module.function" -> the largest arguments (bytes) of its calls in this process, all of them
# faster than MIN_CALL_SECONDS (-1: one was not). Such a function's next call on arguments of
# about that size skips the cache's work (~0.2 ms a call: keying, the generators' states).
FAST: dict[str, int] = {}
PACKAGES = ("einops", "numpy", "transformer_lens")  # what references compute with, beside torch


def enabled(requested: bool = True) -> bool:
    """Whether to cache: asked for, and not turned off by MI_EXERCISE_REFERENCE_CACHE=off."""
    return requested and os.environ.get(ENV, "").strip().lower() not in ("off", "0", "no", "false")


def cache_root() -> Path:
    return paths.user_dir("cache") / "reference"


@dataclass
class Stats:
    """This process's counts, for benchmarks and tests: calls answered from the cache, calls
    made (and their seconds), and why a call was not stored."""

    hits: int = 0
    stored: int = 0
    calls: int = 0
    seconds_called: float = 0.0
    seconds_hit: float = 0.0
    not_stored: Counter = field(default_factory=Counter)
    by_function: Counter = field(default_factory=Counter)  # "fn: reason" -> count
    seconds_by_function: Counter = field(default_factory=Counter)  # "fn" -> seconds called
    drew: Counter = field(default_factory=Counter)  # "fn: generators" -> stored calls that drew from them

    def reset(self) -> None:
        self.__init__()

    def to_dict(self) -> dict:
        return {"hits": self.hits, "stored": self.stored, "calls": self.calls,
                "seconds_called": round(self.seconds_called, 4), "seconds_hit": round(self.seconds_hit, 4),
                "not_stored": dict(self.not_stored), "by_function": dict(self.by_function),
                "seconds_by_function": {k: round(v, 4) for k, v in self.seconds_by_function.most_common()},
                "drew": dict(self.drew)}


stats = Stats()


# -- keys ---------------------------------------------------------------------------------------
def _sha(*parts) -> "hashlib._Hash":
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, (bytes, bytearray, memoryview)) else str(p).encode())
        h.update(b"\0")
    return h


def digest_parts(parts) -> str:
    """The digest of injected reference parts [(module name, source)], as registered."""
    h = hashlib.sha256()
    for name, source in parts:
        h.update(json.dumps([name, source]).encode())
    return h.hexdigest()


def grader_digest(grader_dir: Path) -> str:
    """The grader folder's files (graders, helpers, data), without mutants/, alternatives/ and
    caches: what decides the reference calls a check makes."""
    h = hashlib.sha256()
    root = Path(grader_dir)
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith(".")
                             and not (rel == "." and d in ("mutants", "alternatives")))
        for name in sorted(filenames):
            if name.endswith((".pyc", ".tmp")):
                continue
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            h.update(os.path.normpath(os.path.join(rel, name)).encode() + b"\0")
            h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def environment_digest() -> str:
    """mi-exercise (its version and files: a checkout changes without a version bump), torch and
    the packages references compute with, python and the machine: once per process."""
    from importlib import metadata

    import torch

    h = hashlib.sha256()
    versions = [__version__, torch.__version__, getattr(torch.version, "cuda", None), sys.version_info[:3],
                platform.machine(), FORMAT]
    for name in PACKAGES:
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            versions.append((name, None))
    h.update(json.dumps(versions, default=str).encode())
    paths.stamp_tree(h, paths.PACKAGE_DIR, skip_dirs=("__pycache__", "_content"))
    return h.hexdigest()


def device_label(requested: str) -> str:
    """The device the check runs on, as the worker resolves it, with the GPU's name."""
    from mi_exercise.runner.worker import pick_device

    device = pick_device(requested or "auto")
    if device == "cuda":
        import torch

        try:
            return f"cuda:{torch.cuda.get_device_name(0)}"
        except (RuntimeError, AssertionError):
            return device
    return device


def exercise_key(exercise, reference_digest: str, parts_digest: str, device: str) -> str:
    return _sha(exercise.slug, grader_digest(exercise.grader_dir), reference_digest, parts_digest,
                environment_digest(), device_label(device)).hexdigest()


def folder_prefix(exercise) -> str:
    """`<slug>-<where its grader is>-`: the folders of one exercise of one content root (an
    instructor's copy of the course does not prune the installed one's)."""
    where = hashlib.sha256(str(Path(exercise.grader_dir).resolve()).encode()).hexdigest()[:8]
    return f"{exercise.slug}-{where}-"


def _torch_context() -> list:
    """Global torch settings that can change a result without changing its arguments."""
    import torch

    return [torch.is_grad_enabled(), torch.is_inference_mode_enabled(), str(torch.get_default_dtype()),
            torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()]


# -- the random generators ----------------------------------------------------------------------
def _generators() -> dict:
    """name -> (get state, digest of a state, state as stored, state from stored, set state)
    for every global generator that exists in this process now."""
    import torch

    gens = {
        "torch": (torch.get_rng_state, lambda s: s.numpy().tobytes(), lambda s: s, lambda v: v, torch.set_rng_state),
        "random": (random.getstate,
                   lambda s: array("Q", s[1]).tobytes() + repr((s[0], s[2])).encode(),
                   lambda s: [s[0], list(s[1]), s[2]],
                   lambda v: (v[0], tuple(v[1]), v[2]),
                   random.setstate),
    }
    np = sys.modules.get("numpy")
    if np is not None and hasattr(np, "random"):
        gens["numpy"] = (np.random.get_state,
                         lambda s: s[1].tobytes() + repr((s[0], s[2], s[3], s[4])).encode(),
                         lambda s: [s[0], s[1].tobytes(), int(s[2]), int(s[3]), float(s[4])],
                         lambda v: (v[0], np.frombuffer(v[1], dtype=np.uint32).copy(), v[2], v[3], v[4]),
                         np.random.set_state)
    if torch.cuda.is_initialized():
        gens["cuda"] = (torch.cuda.get_rng_state_all,
                        lambda s: b"".join(t.numpy().tobytes() for t in s),
                        lambda s: list(s), lambda v: list(v), torch.cuda.set_rng_state_all)
    mps = getattr(torch, "mps", None)
    if mps is not None and hasattr(mps, "get_rng_state") and torch.backends.mps.is_available():
        gens["mps"] = (mps.get_rng_state, lambda s: s.numpy().tobytes(), lambda s: s, lambda v: v, mps.set_rng_state)
    return gens


def _rng_snapshot(gens: dict) -> dict:
    return {name: g[0]() for name, g in gens.items()}


def _rng_digests(gens: dict, states: dict) -> dict:
    return {name: hashlib.sha256(gens[name][1](s)).hexdigest() for name, s in states.items()}


# -- walking values ------------------------------------------------------------------------------
class NotCacheable(Exception):
    """Why a call is not stored (its message is the reason counted in `stats`)."""


# Classes whose objects are plain values, wholly given by the attributes named here (the rest
# derived from them): an argument of one is keyed by those attributes, in the safe format. Only
# arguments: a result that holds one is not stored (it would not decode as one).
VALUE_TYPES = {
    ("transformer_lens.FactoredMatrix", "FactoredMatrix"): ("A", "B", "ldim", "rdim", "mdim", "has_leading_dims", "shape"),
}


def _value_state(value):
    """The attributes of a value object (VALUE_TYPES), or None for anything else; NotCacheable
    for one that holds more than its fields (a cached SVD, an attribute of the grader's own)."""
    t = type(value)
    fields = VALUE_TYPES.get((t.__module__, t.__qualname__))
    if fields is None:
        return None
    state = getattr(value, "__dict__", None)
    if type(state) is not dict or not set(state) <= set(fields):
        raise NotCacheable("arguments")
    return {f: state[f] for f in fields if f in state}


def _walk(value, tensors: list, containers: list, depth: int = 0) -> None:
    """The tensors and containers (value objects too) in a value, in the order wire encodes them."""
    if depth > wire.MAX_DEPTH:
        raise NotCacheable("nested")
    t = type(value)
    if t is list or t is tuple:
        containers.append(value)
        for v in value:
            _walk(v, tensors, containers, depth + 1)
    elif t is dict:
        containers.append(value)
        for v in value.values():
            _walk(v, tensors, containers, depth + 1)
    elif t is bytearray:
        containers.append(value)
    else:
        import torch

        if isinstance(value, torch.Tensor):
            tensors.append(value)
            return
        state = _value_state(value)
        if state is not None:
            containers.append(value)
            for v in state.values():
                _walk(v, tensors, containers, depth + 1)


def _plain(value, found: list, depth: int = 0):
    """`value` with each value object replaced by its attributes (a dict), in the safe format's
    terms; `found` gets each one's class, in order, so the key tells it from a plain dict."""
    if depth > wire.MAX_DEPTH:
        raise NotCacheable("nested")
    t = type(value)
    if t is list:
        return [_plain(v, found, depth + 1) for v in value]
    if t is tuple:
        return tuple(_plain(v, found, depth + 1) for v in value)
    if t is dict:
        return {k: _plain(v, found, depth + 1) for k, v in value.items()}
    state = _value_state(value)
    if state is None:
        return value
    found.append(f"{t.__module__}.{t.__qualname__}")
    return {k: _plain(v, found, depth + 1) for k, v in state.items()}


def _args_digest(value) -> tuple[str, list]:
    """(sha256 of the arguments in the safe format, the value objects' classes in them)."""
    found: list = []
    return _frame_digest(_plain(value, found))[0], found


def _arg_bytes(value, depth: int = 0) -> int:
    """About how large the arguments are: what a fast call's next call is compared by."""
    t = type(value)
    if depth > 20:
        return 0
    if t is list or t is tuple:
        return sum(_arg_bytes(v, depth + 1) for v in value)
    if t is dict:
        return sum(_arg_bytes(v, depth + 1) for v in value.values())
    if t in (str, bytes, bytearray):
        return len(value)
    nbytes = getattr(value, "nbytes", None)  # a tensor
    if type(nbytes) is int:
        return nbytes
    state = getattr(value, "__dict__", None)
    if type(state) is dict and (t.__module__, t.__qualname__) in VALUE_TYPES:
        return _arg_bytes(list(state.values()), depth + 1)
    return 8


def _storage(t) -> int:
    try:
        return t.untyped_storage().data_ptr() if t.numel() else 0
    except (RuntimeError, NotImplementedError):
        return -1


def _frame_digest(value) -> tuple[str, int]:
    """sha256 and size of `value` in the safe format; NotCacheable when it does not encode."""
    try:
        chunks = wire.encode(value)
    except (TypeError, ValueError, RuntimeError, RecursionError) as exc:
        raise NotCacheable("arguments") from exc
    h = hashlib.sha256()
    size = 0
    for c in chunks:
        h.update(c)
        size += memoryview(c).nbytes
    return h.hexdigest(), size


def _grads(tensors) -> list:
    """What a backward pass could change on the arguments: each leaf's .grad (object, version)."""
    out = []
    for t in tensors:
        g = t.grad if t.requires_grad and t.is_leaf else None
        out.append(None if g is None else (id(g), g._version))
    return out


def _exact_result(result, arg_ids: set, arg_storages: set) -> list:
    """The devices of the result's tensors, in order; NotCacheable when decoding it would not
    give back the same thing (a type the format changes, an autograd graph, a subclass, a value
    shared with an argument or within itself)."""
    import torch

    tensors: list = []
    containers: list = []
    _walk(result, tensors, containers)
    ids = [id(c) for c in containers] + [id(t) for t in tensors]
    if len(set(ids)) != len(ids):
        raise NotCacheable("aliased")
    if any(i in arg_ids for i in ids) or id(result) in arg_ids:
        raise NotCacheable("aliased")
    if any(type(c) not in (list, tuple, dict) for c in containers):  # bytes would come back; a value object would not
        raise NotCacheable("result")
    storages = set()
    devices = []
    for t in tensors:
        if type(t) is not torch.Tensor or t.layout is not torch.strided or t.is_conj() or t.is_neg():
            raise NotCacheable("result")
        if t.grad_fn is not None or t.grad is not None or t.is_inference() or any(n is not None for n in getattr(t, "names", None) or ()):
            raise NotCacheable("result")
        s = _storage(t)
        if s:
            if s in arg_storages or s in storages or s < 0:
                raise NotCacheable("aliased")
            storages.add(s)
        devices.append(str(t.device))
    return devices


def _own(t, device: str):
    """A decoded tensor (a view of the entry's bytes) on storage of its own on `device`, as the
    original was: sizes and strides kept (a stride-0 view stays one), resizable, no tie to the
    bytes read."""
    import torch

    n = t.untyped_storage().nbytes() // t.element_size()
    flat = torch.as_strided(t.detach(), (n,), (1,), 0)
    base = flat.to(device, copy=True)
    out = base.as_strided(t.size(), t.stride(), t.storage_offset())
    return out.requires_grad_(True) if t.requires_grad else out


def _to_devices(value, devices: list):
    """The decoded result, each tensor on storage of its own on the device the original was on."""
    import torch

    tensors: list = []
    _walk(value, tensors, [])
    if len(tensors) != len(devices):
        raise ValueError("devices do not match the result")
    if not tensors:
        return value
    moved = {id(t): _own(t, d) for t, d in zip(tensors, devices)}

    def rebuild(v):
        tv = type(v)
        if tv is list:
            return [rebuild(x) for x in v]
        if tv is tuple:
            return tuple(rebuild(x) for x in v)
        if tv is dict:
            return {k: rebuild(x) for k, x in v.items()}
        if isinstance(v, torch.Tensor):
            return moved.get(id(v), v)
        return v

    return rebuild(value)


# -- the store ------------------------------------------------------------------------------------
class Store:
    """One exercise key's folder of entries. Nothing here raises: a failure is a miss."""

    def __init__(self, folder: Path, prefix: str = ""):
        self.folder = Path(folder)
        self.prefix = prefix  # the slug's folder prefix: other folders of it are stale
        self._size: int | None = None
        self._pruned = False
        self._names: set | None = None  # the entries there when first looked at: a miss opens nothing
        try:
            os.utime(self.folder)  # recently used, for the pruning of whole folders
        except OSError:
            pass

    @classmethod
    def for_exercise(cls, exercise, reference_digest: str, parts_digest: str, device: str) -> "Store":
        prefix = folder_prefix(exercise)
        key = exercise_key(exercise, reference_digest, parts_digest, device)
        return cls(cache_root() / (prefix + key[:32]), prefix)

    def path(self, key: str) -> Path:
        return self.folder / key

    def get(self, key: str):
        """The value stored under `key`, or None (missing, unreadable, corrupt: then removed)."""
        if self._names is None:
            try:
                self._names = set(os.listdir(self.folder))
            except OSError:
                self._names = set()
        if key not in self._names:
            return None
        path = self.path(key)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        head = len(MAGIC) + 32
        try:
            if data[:len(MAGIC)] != MAGIC or hashlib.sha256(memoryview(data)[head:]).digest() != data[len(MAGIC):head]:
                raise wire.MalformedFrame("checksum")
            value = wire.decode_frame(bytearray(memoryview(data)[head:]))
            if type(value) is not dict or value.get("key") != key:
                raise wire.MalformedFrame("not this entry")
        except (wire.MalformedFrame, ValueError, TypeError, RuntimeError):
            self._remove(path)
            return None
        try:
            os.utime(path)
        except OSError:
            pass
        return value

    def put(self, key: str, value: dict) -> bool:
        value = {**value, "key": key}
        try:
            chunks = wire.encode(value)[1:]  # the frame without its length header
        except (TypeError, ValueError, RuntimeError, RecursionError):
            return False
        size = sum(memoryview(c).nbytes for c in chunks)
        if size > MAX_RESULT_BYTES:
            stats.not_stored["large"] += 1
            return False
        h = hashlib.sha256()
        for c in chunks:
            h.update(c)
        try:
            if not self.folder.is_dir():
                self._prune_folders()
                self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{key[:16]}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
            try:
                with open(tmp, "wb") as fh:
                    fh.write(MAGIC)
                    fh.write(h.digest())
                    for c in chunks:
                        fh.write(c)
                os.replace(tmp, self.path(key))
                if self._names is not None:
                    self._names.add(key)
            except BaseException:
                self._remove(tmp)
                raise
        except OSError:
            return False
        self._account(size + len(MAGIC) + 32)
        return True

    def _remove(self, path: Path) -> None:
        if self._names is not None:
            self._names.discard(Path(path).name)
        try:
            os.unlink(path)
        except OSError:
            pass

    def _account(self, added: int) -> None:
        """Keep the folder under MAX_FOLDER_BYTES: past it, the least recently used entries go
        until it holds half."""
        if self._size is None:
            self._size = sum(e[1] for e in self._entries())
        else:
            self._size += added
        if self._size <= MAX_FOLDER_BYTES:
            return
        entries = sorted(self._entries(), key=lambda e: e[2])
        total = sum(e[1] for e in entries)
        for path, size, _mtime in entries:
            if total <= MAX_FOLDER_BYTES // 2:
                break
            self._remove(path)
            total -= size
        self._size = total

    def _entries(self) -> list:
        out = []
        try:
            with os.scandir(self.folder) as it:
                for e in it:
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    out.append((Path(e.path), st.st_size, st.st_mtime))
        except OSError:
            pass
        return out

    def _prune_folders(self) -> None:
        """Before a new exercise folder is made: the slug's other folders are stale (its grader,
        solution or mi-exercise changed), and past MAX_FOLDERS the least recently used go."""
        if self._pruned:
            return
        self._pruned = True
        root = self.folder.parent
        try:
            folders = [(e.path, e.name, e.stat(follow_symlinks=False).st_mtime) for e in os.scandir(root) if e.is_dir()]
        except OSError:
            return
        keep = []
        for path, name, mtime in folders:
            if self.prefix and name.startswith(self.prefix) and name != self.folder.name:
                shutil.rmtree(path, ignore_errors=True)
            else:
                keep.append((mtime, path))
        keep.sort()
        for _mtime, path in keep[:max(0, len(keep) + 1 - MAX_FOLDERS)]:
            shutil.rmtree(path, ignore_errors=True)


# -- the proxy ------------------------------------------------------------------------------------
def loaded_globals(module: types.ModuleType) -> dict:
    """The module's own globals as loaded (dunder names aside: warnings add some): a reference
    whose globals were rebound or patched since is not cached any more."""
    return {k: v for k, v in module.__dict__.items() if not k.startswith("__")}


class ReferenceProxy:
    """The reference module for a grader: its attributes, its functions' results cached.

    Every attribute is looked up on the module (the proxy has none of its own that could hide
    one); setting one sets it on the module. `store` is a Store, or a callable that makes one on
    the first call (the exercise key costs a few milliseconds: a check that never calls a
    reference function pays nothing). `globals_at_load`: loaded_globals(module) when it was
    imported (by default: now)."""

    __slots__ = ("_ReferenceProxy__calls",)

    def __init__(self, module: types.ModuleType, store, globals_at_load: dict | None = None):
        object.__setattr__(self, "_ReferenceProxy__calls", _Calls(module, store, globals_at_load))

    def __getattribute__(self, name):
        return object.__getattribute__(self, "_ReferenceProxy__calls").attribute(name)

    def __setattr__(self, name, value):
        setattr(object.__getattribute__(self, "_ReferenceProxy__calls").module, name, value)

    def __delattr__(self, name):
        delattr(object.__getattribute__(self, "_ReferenceProxy__calls").module, name)

    def __dir__(self):
        return dir(object.__getattribute__(self, "_ReferenceProxy__calls").module)

    def __repr__(self):
        return f"<reference {object.__getattribute__(self, '_ReferenceProxy__calls').module.__name__} (results cached)>"


class _Calls:
    """The proxy's state and its cached calls."""

    def __init__(self, module: types.ModuleType, store, globals_at_load: dict | None):
        self.module = module
        self.store = store
        self.wrapped: dict = {}
        self.globals = loaded_globals(module) if globals_at_load is None else globals_at_load

    def attribute(self, name: str):
        value = getattr(self.module, name)
        if isinstance(value, types.FunctionType) and value.__module__ == self.module.__name__:
            wrapped = self.wrapped.get(name)
            if wrapped is None or wrapped.__wrapped__ is not value:
                wrapped = self._wrap(name, value)
                self.wrapped[name] = wrapped
            return wrapped
        return value

    def _get_store(self):
        if self.store is not None and not isinstance(self.store, Store) and callable(self.store):
            try:
                self.store = self.store()
            except Exception:  # noqa: BLE001 - a cache that cannot be keyed is no cache
                self.store = None
        return self.store

    def _unchanged(self) -> bool:
        """The module's globals are the ones it was loaded with (nothing rebound or patched)."""
        return loaded_globals(self.module).keys() == self.globals.keys() and all(
            self.module.__dict__.get(k) is v for k, v in self.globals.items())

    def _wrap(self, name: str, fn):
        calls = self

        @functools.wraps(fn)
        def cached(*args, **kwargs):
            return calls.call(name, fn, args, kwargs)

        return cached

    def _uncached(self, name: str, fn, args: tuple, kwargs: dict, reason: str, fast_name: str = ""):
        """Call without the cache, counting why."""
        began = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            took = time.perf_counter() - began
            if fast_name and took >= MIN_CALL_SECONDS:
                FAST[fast_name] = -1  # not so fast after all: its next call goes through the cache
            stats.calls += 1
            stats.seconds_called += took
            stats.seconds_by_function[name] += took
            self._count(name, reason)

    @staticmethod
    def _count(name: str, reason: str) -> None:
        stats.not_stored[reason] += 1
        stats.by_function[f"{name}: {reason}"] += 1

    def call(self, name: str, fn, args: tuple, kwargs: dict):
        """fn(*args, **kwargs), answered from the store where an earlier pure call was kept.
        Nothing the cache does can raise into the grader: a failure of its own is a plain call."""
        fast_name = f"{self.module.__name__}.{name}"
        try:
            size = _arg_bytes((args, kwargs))
            limit = FAST.get(fast_name, -1)
            if 0 <= limit and size <= 4 * limit + 4096:
                return self._uncached(name, fn, args, kwargs, "fast", fast_name)
            if not self._unchanged():
                raise NotCacheable("patched")
            store = self._get_store()
            if store is None:
                raise NotCacheable("no store")
            call = Call(name, args, kwargs)
        except NotCacheable as exc:
            return self._uncached(name, fn, args, kwargs, str(exc))
        except Exception:  # noqa: BLE001
            return self._uncached(name, fn, args, kwargs, "internal")
        started = time.perf_counter()
        try:
            found, result = call.lookup(store)
        except NotCacheable as exc:
            return self._uncached(name, fn, args, kwargs, str(exc))
        except Exception:  # noqa: BLE001 - a lookup that fails is a miss
            found = False
        if found:
            stats.hits += 1
            stats.seconds_hit += time.perf_counter() - started
            return result

        try:
            call.watch()
        except Exception:  # noqa: BLE001
            return self._uncached(name, fn, args, kwargs, "internal")
        began = time.perf_counter()
        result = fn(*args, **kwargs)
        took = time.perf_counter() - began
        stats.calls += 1
        stats.seconds_called += took
        stats.seconds_by_function[name] += took
        if took < MIN_CALL_SECONDS:
            if FAST.get(fast_name, 0) >= 0:
                FAST[fast_name] = max(FAST.get(fast_name, 0), size)
            self._count(name, "fast")
            return result
        FAST[fast_name] = -1
        try:
            ok = call.keep(store, result)
        except NotCacheable as exc:
            self._count(name, str(exc))
            return result
        except Exception:  # noqa: BLE001
            self._count(name, "internal")
            return result
        if ok:
            stats.stored += 1
        else:
            self._count(name, "not written")
        return result


class Call:
    """One call of a reference function: its key, its lookup, and what it did when it ran."""

    def __init__(self, name: str, args: tuple, kwargs: dict):
        self.name = name
        self.value = (args, dict(sorted(kwargs.items())))  # f(a=1, b=2) is f(b=2, a=1)
        self.tensors: list = []
        self.containers: list = []
        _walk(self.value, self.tensors, self.containers)
        if any(t.requires_grad and not t.is_leaf for t in self.tensors):
            raise NotCacheable("autograd")  # a backward pass through it reaches what we cannot see
        self.args_digest, values = _args_digest(self.value)
        meta = [[type(t).__name__, str(t.device), str(t.layout)] for t in self.tensors] + [values]
        self.key = _sha("call", name, self.args_digest, json.dumps(meta), json.dumps(_torch_context())).hexdigest()
        self.gens = _generators()
        self.depends: list = []  # the generators a marker says this call draws from

    def rng_key(self, depends: list, states: dict | None = None) -> str:
        """The key of this call drawing from `depends`, in these states (by default: now)."""
        gens = {g: self.gens[g] for g in depends}
        states = {g: states[g] for g in depends} if states is not None else _rng_snapshot(gens)
        return _sha("rng", self.key, json.dumps(sorted(_rng_digests(gens, states).items()))).hexdigest()

    def lookup(self, store: Store) -> tuple[bool, object]:
        """(True, the result) from the store, the generators set as the call left them; (False, None)."""
        entry, key = store.get(self.key), self.key
        if entry is not None and entry.get("kind") == "rng":
            depends = sorted({g for g in entry.get("depends", ()) if isinstance(g, str)})
            if not all(g in self.gens for g in depends):
                raise NotCacheable("rng")  # one of them is not there now (CUDA not started)
            self.depends = depends
            key = self.rng_key(depends)
            entry = store.get(key)
        if entry is None or entry.get("kind") != "result":
            return False, None
        try:
            result = _to_devices(entry["result"], entry["devices"])
            after = {g: self.gens[g][3](v) for g, v in (entry.get("rng") or {}).items() if g in self.depends}
            if len(after) != len(entry.get("rng") or {}):
                raise ValueError("generators do not match the marker")
        except Exception:  # noqa: BLE001 - an entry that does not apply is a miss
            store._remove(store.path(key))
            return False, None
        for g, state in after.items():
            self.gens[g][4](state)
        return True, result

    def watch(self) -> None:
        """Just before the call: what it could change."""
        self.arg_ids = {id(c) for c in self.containers} | {id(t) for t in self.tensors}
        self.arg_storages = {s for s in (_storage(t) for t in self.tensors) if s}
        self.grads = _grads(self.tensors)
        self.before = _rng_snapshot(self.gens)

    def keep(self, store: Store, result) -> bool:
        """After the call: store its result if it was pure (NotCacheable says why not)."""
        if _args_digest(self.value)[0] != self.args_digest or _grads(self.tensors) != self.grads:
            raise NotCacheable("mutated")
        devices = _exact_result(result, self.arg_ids, self.arg_storages)
        if set(_generators()) != set(self.gens):
            raise NotCacheable("rng")  # CUDA or numpy came up during the call
        after = _rng_snapshot(self.gens)
        d_before, d_after = _rng_digests(self.gens, self.before), _rng_digests(self.gens, after)
        drew = {g for g in self.gens if d_before[g] != d_after[g]}
        value = {"kind": "result", "result": result, "devices": devices}
        if not drew and not self.depends:
            return store.put(self.key, value)
        depends = self.depends
        stats.drew[f"{self.name}: {', '.join(sorted(drew)) or 'none'}"] += 1
        if not drew <= set(depends):
            depends = sorted(set(depends) | drew)
            store.put(self.key, {"kind": "rng", "depends": depends})
        value["rng"] = {g: self.gens[g][2](after[g]) for g in depends}
        return store.put(self.rng_key(depends, self.before), value)
