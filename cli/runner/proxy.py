"""The trusted side's view of learner code: a worker process and proxies that call into it.

Graders write `submission.fn(x)`; the proxy sends the call to the worker, waits under the
test's and the check's time limits, reads the reply in the safe format and raises a
SubmissionProblem for every end that is not a value. A worker that died is replaced on the
next call, so one hanging function costs one test, not the check.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mi_exercise.runner import wire
from mi_exercise.runner.outcomes import (
    CheckTimeExceeded,
    LearnerError,
    LearnerImportError,
    SubmissionCrashed,
    SubmissionExited,
    SubmissionOutOfMemory,
    SubmissionProblem,
    SubmissionTimeout,
    problem_from_end,
)

BOOT_SECONDS = 120.0  # importing torch (and TransformerLens) is not the learner's time
HIDDEN_ENV_PREFIXES = ("MI_EXERCISE", "PYTEST", "_PYTEST")


def worker_env() -> dict[str, str]:
    """The environment learner code sees: the user's, minus anything that says 'graded'."""
    return {k: v for k, v in os.environ.items() if not k.startswith(HIDDEN_ENV_PREFIXES)}


@dataclass
class WorkerConfig:
    learner_file: Path
    module_name: str
    device: str = "auto"
    memory_mb: int | None = 4096
    preload: tuple[str, ...] = ()
    output_kb: int = 64
    sandbox: list[str] | None = None  # a command prefix (bwrap ...) that wraps the worker
    inject: tuple[tuple[str, str], ...] = ()  # (module name, source) registered before the learner's file


class WorkerProcess:
    """One worker subprocess: boot, learner import, calls. Owns its pipes and output file."""

    def __init__(self, config: WorkerConfig):
        self.config = config
        req_r, self.req_w = os.pipe()
        self.resp_r, resp_w = os.pipe()
        self.out_file = tempfile.NamedTemporaryFile(prefix="mi-exercise-out-", suffix=".txt", delete=False)
        self.out_pos = 0
        try:
            self.proc = self._launch(req_r, resp_w)
        finally:
            os.close(req_r)
            os.close(resp_w)
        self.device: str | None = None
        self.boot_seconds = 0.0
        self.ready: dict | None = None
        self.dead = False
        # The first frame is bare JSON: the worker reads it before importing torch, so its
        # torch import starts at once, in parallel with ours.
        wire.write_frame(self.req_w, json.dumps({
            "learner_file": str(config.learner_file),
            "module_name": config.module_name,
            "device": config.device,
            "memory_mb": config.memory_mb,
            "preload": list(config.preload),
            "inject": [list(part) for part in config.inject],
        }).encode())

    def _launch(self, req_r: int, resp_w: int):
        """Start the worker process; returns a Popen (or an object with its pid/poll/wait/kill)."""
        cmd = [sys.executable, "-I", "-m", "mi_exercise.runner.worker", str(req_r), str(resp_w)]
        if self.config.sandbox:
            cmd = [*self.config.sandbox, *cmd]
        return subprocess.Popen(
            cmd,
            pass_fds=(req_r, resp_w),
            stdin=subprocess.DEVNULL,
            stdout=self.out_file,
            stderr=subprocess.STDOUT,
            cwd=str(self.config.learner_file.parent),
            env=worker_env(),
            start_new_session=True,  # its own process group: a kill takes its children too
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    # -- reading replies under a deadline ---------------------------------------------------
    def _read(self, timeout: float) -> dict:
        if timeout <= 0:
            raise TimeoutError
        ready, _, _ = select.select([self.resp_r], [], [], timeout)
        if not ready:
            raise TimeoutError
        # The header has arrived; a large payload may still be on its way.
        return wire.receive(self.resp_r)

    def read(self, timeout: float) -> dict:
        """The next reply, or a SubmissionProblem describing how the worker ended."""
        try:
            reply = self._read(timeout)
        except TimeoutError:
            self.kill()
            raise
        except wire.ChannelClosed:
            raise self._death() from None
        except Exception as exc:  # noqa: BLE001 - a frame that is not in the safe format
            self.kill()
            raise LearnerError(f"the worker sent something that is not a plain value ({type(exc).__name__}); "
                               "results must be tensors, numbers, strings, lists, tuples or dicts") from None
        if not isinstance(reply, dict):
            self.kill()
            raise LearnerError("the worker's reply was malformed")
        return reply

    def _death(self) -> SubmissionProblem:
        self.dead = True
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        self._close()
        if code is None:  # a warm worker whose zygote went away: no status to read
            return SubmissionCrashed("the worker ended and its exit status could not be read")
        if code < 0:
            sig = -code
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            if sig == signal.SIGKILL:
                return SubmissionOutOfMemory(f"the process was killed ({name}); most likely it used too much memory")
            return SubmissionCrashed(f"the process crashed with signal {name}")
        return SubmissionExited(f"your code ended the process (exit status {code}) instead of returning; "
                                "do not call sys.exit() or os._exit() in an exercise")

    def boot(self) -> float:
        """Wait for torch to import; returns the seconds it took."""
        if self.device is None:
            start = time.monotonic()
            try:
                msg = self.read(BOOT_SECONDS)
            except TimeoutError:
                raise SubmissionTimeout(f"the worker did not start within {BOOT_SECONDS:.0f}s") from None
            self.device = msg.get("device", "cpu")
            self.boot_seconds = time.monotonic() - start
        return self.boot_seconds

    def wait_ready(self, timeout: float) -> dict:
        if self.ready is None:
            try:
                self.ready = self.read(timeout)
            except TimeoutError:
                raise SubmissionTimeout(f"importing your file did not finish within {timeout:.1f}s "
                                        "(is there an infinite loop at module level?)") from None
        return self.ready

    def request(self, message: dict, timeout: float) -> dict:
        if self.dead:
            raise SubmissionCrashed("the worker is gone")
        try:
            wire.send(self.req_w, message)
        except (BrokenPipeError, OSError):
            raise self._death() from None
        return self.read(timeout)

    def take_output(self) -> str:
        """What the learner printed since the last call, cut to the output limit."""
        try:
            with open(self.out_file.name, "rb") as fh:
                fh.seek(self.out_pos)
                data = fh.read(self.config.output_kb * 1024 + 1)
                self.out_pos = fh.tell()
                fh.seek(0, os.SEEK_END)
                end = fh.tell()
        except OSError:
            return ""
        text = data.decode("utf-8", "replace")
        if len(data) > self.config.output_kb * 1024 or end > self.out_pos:
            self.out_pos = end
            text = text[: self.config.output_kb * 1024] + f"\n[... output cut at {self.config.output_kb} KiB ...]"
        return text

    def kill(self) -> None:
        self.dead = True
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
            self.proc.wait()
        self._close()

    def close(self) -> None:
        if not self.dead and self.proc.poll() is None:
            try:
                wire.send(self.req_w, {"op": "shutdown"})
                self.proc.wait(timeout=2)
            except Exception:  # noqa: BLE001
                pass
        self.kill()
        try:
            os.unlink(self.out_file.name)
        except OSError:
            pass

    def _close(self) -> None:
        for fd in (self.req_w, self.resp_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.req_w = self.resp_r = -1


@dataclass
class CallResult:
    value: object
    devices: dict[str, str]
    mutated: list
    args_after: list | None = None
    kwargs_after: dict | None = None


@dataclass
class Clock:
    """The test's and the check's deadlines; worker boot time is added back to both."""

    test_seconds: float
    check_seconds: float
    check_start: float = field(default_factory=time.monotonic)
    test_start: float = field(default_factory=time.monotonic)
    credit: float = 0.0  # boot seconds inside the current test
    check_credit: float = 0.0

    def start_test(self) -> None:
        self.test_start = time.monotonic()
        self.credit = 0.0

    def add_boot(self, seconds: float) -> None:
        self.credit += seconds
        self.check_credit += seconds

    def remaining(self) -> tuple[float, str]:
        now = time.monotonic()
        test_left = self.test_start + self.test_seconds + self.credit - now
        check_left = self.check_start + self.check_seconds + self.check_credit - now
        if check_left < test_left:
            return check_left, "check"
        return test_left, "test"


def _describe_args(args, kwargs) -> str:
    import torch

    def one(a):
        if isinstance(a, torch.Tensor):
            return f"Tensor{list(a.shape)}"
        if isinstance(a, RemoteObject):
            return a._type
        text = repr(a)
        return text if len(text) <= 30 else text[:27] + "..."

    parts = [one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


class Submission:
    """The learner's module as the grader sees it: `submission.some_function(*args)`."""

    def __init__(self, config: WorkerConfig, clock: Clock, spawner=None):
        self._config = config
        self._clock = clock
        self._spawner = spawner or WorkerProcess  # config -> WorkerProcess (a warm pool's spawn)
        self._worker: WorkerProcess | None = None
        self._generation = 0  # bumps when a worker is replaced: old handles die with it
        self._import_problem: SubmissionProblem | None = None
        self.names: list[str] = []
        self.output_log: list[str] = []

    # -- worker lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        """Spawn the worker now (so torch imports while the grader loads)."""
        if self._worker is None or self._worker.dead:
            if self._worker is not None:
                self._worker.close()
            self._worker = self._spawner(self._config)
            self._generation += 1

    def _ready_worker(self) -> WorkerProcess:
        if self._import_problem is not None:
            raise type(self._import_problem)(self._import_problem.message, self._import_problem.traceback)
        self.start()
        worker = self._worker
        if worker.ready is None:
            booted_before = worker.device is not None
            seconds = worker.boot()
            if not booted_before:
                self._clock.add_boot(seconds)
            left, _ = self._clock.remaining()
            try:
                ready = worker.wait_ready(max(left, 0.01))
            except SubmissionProblem as problem:
                if not isinstance(problem, SubmissionTimeout):
                    self._import_problem = problem
                raise
            if ready.get("error"):
                end = dict(ready["error"])
                end["message"] = "your file could not be imported: " + end.get("message", "")
                if end.get("kind") == "import_error":
                    self._import_problem = LearnerImportError(end["message"], end.get("traceback"))
                else:
                    self._import_problem = problem_from_end(end)
                    worker.kill()
                raise self._import_problem
            self.names = list(ready.get("names", []))
        return worker

    @property
    def device(self) -> str:
        self.start()
        seconds_before = self._worker.device is None
        seconds = self._worker.boot()
        if seconds_before:
            self._clock.add_boot(seconds)
        return self._worker.device

    def take_output(self) -> str:
        return self._worker.take_output() if self._worker is not None else ""

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()

    # -- calls ----------------------------------------------------------------------------
    def _send(self, message: dict, label: str) -> dict:
        worker = self._ready_worker()
        left, which = self._clock.remaining()
        if left <= 0:
            raise CheckTimeExceeded("the check's time limit was used up before this test ran")
        try:
            reply = worker.request(message, left)
        except TimeoutError:
            limit = self._clock.test_seconds if which == "test" else self._clock.check_seconds
            raise SubmissionTimeout(
                f"{label} did not finish within the {which}'s limit of {limit:g}s "
                "(an infinite loop, or far too much work?)") from None
        if not reply.get("ok"):
            end = reply.get("end", {})
            if end.get("kind") == "missing":
                raise LearnerError(end.get("message", "not defined"))
            if end.get("kind") == "oom" and worker.alive():
                worker.kill()  # a worker that hit its memory limit is not trusted to go on
            raise problem_from_end(end)
        return reply

    def _encode(self, value):
        if isinstance(value, RemoteObject):
            if value._generation != self._generation:
                raise LearnerError(f"the {value._type} object was lost when the previous worker stopped")
            return {wire.HANDLE: value._handle}
        if type(value) in (list, tuple):
            items = [self._encode(v) for v in value]
            return items if type(value) is list else tuple(items)
        if isinstance(value, dict):
            return {k: self._encode(v) for k, v in value.items()}
        return value

    def _decode(self, value):
        if wire.is_handle(value):
            return RemoteObject(self, value[wire.HANDLE], value.get("type", "object"), value.get("repr", ""))
        if type(value) in (list, tuple):
            items = [self._decode(v) for v in value]
            return items if type(value) is list else tuple(items)
        if isinstance(value, dict):
            return {k: self._decode(v) for k, v in value.items()}
        return value

    def call_full(self, name: str | None, args=(), kwargs=None, *, target: int | None = None,
                  label: str | None = None, return_args: bool = False) -> CallResult:
        kwargs = kwargs or {}
        label = label or f"`{name}({_describe_args(args, kwargs)})`"
        reply = self._send({
            "op": "call", "target": target, "name": name,
            "args": self._encode(tuple(args)), "kwargs": self._encode(dict(kwargs)),
            "return_args": return_args,
        }, label)
        return CallResult(
            value=self._decode(reply.get("value")),
            devices=dict(reply.get("devices") or {}),
            mutated=list(reply.get("mutated") or []),
            args_after=reply.get("args_after"),
            kwargs_after=reply.get("kwargs_after"),
        )

    def call(self, name: str | None, *args, _target: int | None = None, _label: str | None = None,
             _allow_inplace: bool = False, _check_device: bool = True, **kwargs):
        """Call learner code and return its value; fail on an input changed in place or on a
        tensor result left on another device than the inputs."""
        import torch

        from mi_exercise.feedback.compare import GradingFailure

        label = _label or f"`{name}({_describe_args(args, kwargs)})`"
        result = self.call_full(name, args, kwargs, target=_target, label=label)
        if result.mutated and not _allow_inplace:
            which = ", ".join(f"argument {k}" if isinstance(k, int) else f"`{k}`" for k in result.mutated)
            raise GradingFailure(f"{label} changed its input in place ({which}); "
                                 "leave inputs untouched and return a new tensor")
        has_tensor_input = any(isinstance(a, torch.Tensor) for a in list(args) + list(kwargs.values()))
        if _check_device and has_tensor_input:
            expected = self.device
            for path, dev in result.devices.items():
                if dev.split(":")[0] != expected.split(":")[0]:
                    raise GradingFailure(f"{label}: {path} is on device '{dev}' but the inputs were on "
                                         f"'{expected}'; create new tensors with device=x.device")
        return result.value

    def get(self, name: str):
        """A module-level value (constant, class, object) of the learner's file."""
        reply = self._send({"op": "getattr", "target": None, "name": name}, f"`{name}`")
        return self._decode(reply.get("value"))

    def has(self, name: str) -> bool:
        self._ready_worker()
        return name in self.names

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return RemoteFunction(self, name)


class RemoteFunction:
    def __init__(self, submission: Submission, name: str, target: int | None = None, owner: str = ""):
        self._submission, self._name, self._target, self._owner = submission, name, target, owner

    def __call__(self, *args, **kwargs):
        label = f"`{self._owner}{self._name}({_describe_args(args, kwargs)})`"
        return self._submission.call(self._name, *args, _target=self._target, _label=label, **kwargs)

    def inplace(self, *args, **kwargs) -> CallResult:
        """Call a function that is meant to change its inputs; returns the inputs after the call."""
        return self._submission.call_full(self._name, args, kwargs, target=self._target, return_args=True)

    def full(self, *args, **kwargs) -> CallResult:
        return self._submission.call_full(self._name, args, kwargs, target=self._target)


class RemoteObject:
    """An object that stays in the worker (a module, a model, a config): call it, call its
    methods, read its attributes with .get(name)."""

    def __init__(self, submission: Submission, handle: int, type_name: str, text: str):
        self._submission, self._handle, self._type, self._repr = submission, handle, type_name, text
        self._generation = submission._generation

    def __call__(self, *args, **kwargs):
        label = f"`{self._type}(...)({_describe_args(args, kwargs)})`"
        return self._submission.call(None, *args, _target=self._handle, _label=label, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return RemoteFunction(self._submission, name, target=self._handle, owner=f"{self._type}.")

    def get(self, name: str):
        reply = self._submission._send({"op": "getattr", "target": self._handle, "name": name},
                                       f"`{self._type}.{name}`")
        return self._submission._decode(reply.get("value"))

    def __repr__(self) -> str:
        return f"<learner {self._type}: {self._repr}>"
