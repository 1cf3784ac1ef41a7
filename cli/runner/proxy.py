"""The trusted side's view of learner code: a worker process and proxies that call into it.

Graders write `submission.fn(x)`; the proxy sends the call to the worker, waits under the
test's and the check's time limits, reads the reply in the safe format and raises a
SubmissionProblem for every end that is not a value. A worker that died is replaced on the
next call, so one hanging function costs one test, not the check.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mi_exercise.runner import output, wire
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
SHUTDOWN_SECONDS = 1.0  # a worker asked to leave gets this long before it is killed
KILL_SECONDS = 5.0
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
    threads: int | None = None  # torch.set_num_threads in the worker (exercise.toml [limits] threads)
    inject: tuple[tuple[str, str], ...] = ()  # (module name, source) registered before the learner's file


class WorkerProcess:
    """One worker subprocess: boot, learner import, calls. Owns its channels: a Unix socket for
    requests (tensors travel beside them as memory files), a pipe for replies, a pipe for output.
    Every read and write here has a deadline, for whole frames, shutdown included."""

    def __init__(self, config: WorkerConfig):
        self.config = config
        self.req, req_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.req.setblocking(False)
        self.resp_r, resp_w = os.pipe()
        os.set_blocking(self.resp_r, False)
        out_r, self.out_w = output.make_pipe()
        self.output = output.OutputTail(out_r, config.output_kb * 1024)
        try:
            self.proc = self._launch(req_child.fileno(), resp_w)
        except BaseException:
            self.req.close()
            os.close(self.resp_r)
            self.output.close()
            raise
        finally:
            req_child.close()
            os.close(resp_w)
            os.close(self.out_w)
        self.device: str | None = None
        self.boot_seconds = 0.0
        self.booted_at = 0.0  # when the boot frame arrived here: the learner's import starts then
        self.ready: dict | None = None
        self.dead = False
        # The first frame is bare JSON: the worker reads it before importing torch, so its
        # torch import starts at once, in parallel with ours.
        config_frame = json.dumps({
            "learner_file": str(config.learner_file),
            "module_name": config.module_name,
            "device": config.device,
            "memory_mb": config.memory_mb,
            "preload": list(config.preload),
            "threads": config.threads,
            "inject": [list(part) for part in config.inject],
        }).encode()
        try:
            wire.send_by(self.req, [wire.HEADER.pack(len(config_frame)), config_frame],
                         time.monotonic() + BOOT_SECONDS)
        except (wire.FrameTimeout, wire.ChannelClosed):
            pass  # a worker that died at once: boot() reports how it ended

    def _launch(self, req_fd: int, resp_w: int):
        """Start the worker process; returns a Popen (or an object with its pid/poll/wait/kill).
        Its stdout and stderr are `self.out_w`."""
        cmd = [sys.executable, "-I", "-m", "mi_exercise.runner.worker", str(req_fd), str(resp_w)]
        if self.config.sandbox:
            cmd = [*self.config.sandbox, *cmd]
        return subprocess.Popen(
            cmd,
            pass_fds=(req_fd, resp_w),
            stdin=subprocess.DEVNULL,
            stdout=self.out_w,
            stderr=subprocess.STDOUT,
            cwd=str(self.config.learner_file.parent),
            env=worker_env(),
            start_new_session=True,  # its own process group: a kill takes its children too
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    # -- reading replies under a deadline ---------------------------------------------------
    def _read(self, timeout: float) -> dict:
        if timeout <= 0 or self.resp_r < 0:
            raise wire.FrameTimeout()
        frame = wire.read_frame_by(self.resp_r, time.monotonic() + timeout, on_idle=self.output)
        self.output.pump()  # what was printed before the reply was written is in the pipe now
        return wire.decode_frame(frame)

    def read(self, timeout: float) -> dict:
        """The next reply, or a SubmissionProblem describing how the worker ended. A reply not
        whole within `timeout` (however much of it came) raises wire.FrameTimeout."""
        try:
            reply = self._read(timeout)
        except TimeoutError:
            self.kill()
            raise
        except wire.ChannelClosed:
            raise self._death() from None
        except Exception as exc:  # noqa: BLE001 - a frame that is not in the safe format
            self.kill()
            detail = str(exc) if isinstance(exc, wire.MalformedFrame) else type(exc).__name__
            raise LearnerError(f"the worker sent a reply that is not in the safe format ({detail}); "
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
        if code is not None and code > 128 and self.config.sandbox and isinstance(self.proc, subprocess.Popen):
            code = 128 - code  # bwrap reports its child's death by signal N as exit status 128 + N
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
            self.booted_at = time.monotonic()
            self.boot_seconds = self.booted_at - start
        return self.boot_seconds

    def wait_ready(self, timeout: float) -> dict:
        """The learner module's import: it has `timeout` seconds from the boot frame's arrival."""
        if self.ready is None:
            left = self.booted_at + timeout - time.monotonic()
            try:
                self.ready = self.read(max(left, 0.01))
            except TimeoutError:
                raise SubmissionTimeout(f"your file took longer than {timeout:g} s to import "
                                        "(a loop at module level?)") from None
        return self.ready

    def request(self, message: dict, timeout: float) -> tuple[dict, wire.SharedArgs | None]:
        """Send one request and read its reply, both within `timeout`. Returns the reply and the
        memory file holding the request's tensors (the caller reads it, then closes it)."""
        if self.dead:
            raise SubmissionCrashed("the worker is gone")
        deadline = time.monotonic() + timeout
        chunks, shared = wire.encode_request(message)
        try:
            try:
                wire.send_by(self.req, chunks, deadline, fds=(shared.fd,) if shared else ())
            except TimeoutError:
                self.kill()
                raise
            except (wire.ChannelClosed, OSError):
                raise self._death() from None
            return self.read(deadline - time.monotonic()), shared
        except BaseException:
            if shared is not None:
                shared.close()
            raise

    def take_output(self) -> str:
        """What the learner printed since the last call: all of it, or its first and last lines."""
        return self.output.take()

    def kill(self) -> None:
        self.dead = True
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
            try:
                self.proc.wait(timeout=KILL_SECONDS)
            except subprocess.TimeoutExpired:
                pass  # containment.kill_strays ends it before the check's verdict is kept
        self._close()

    def close(self) -> None:
        """Ask the worker to leave, give it SHUTDOWN_SECONDS, then kill it: never blocks longer."""
        if not self.dead and self.proc.poll() is None:
            try:
                wire.send_by(self.req, wire.encode({"op": "shutdown"}), time.monotonic() + SHUTDOWN_SECONDS)
                self.proc.wait(timeout=SHUTDOWN_SECONDS)
            except Exception:  # noqa: BLE001 - a worker that does not listen is killed below
                pass
        self.kill()
        self.output.pump()
        self.output.close()

    def _close(self) -> None:
        if self.resp_r >= 0:
            self.output.pump()  # a crashing worker's last words
            try:
                os.close(self.resp_r)
            except OSError:
                pass
        self.resp_r = -1
        self.req.close()


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

    def credit_test(self, seconds: float) -> None:
        """Time the current test is not charged for (the learner module's own import)."""
        self.credit += seconds

    def check_left(self) -> float:
        return self.check_start + self.check_seconds + self.check_credit - time.monotonic()

    def remaining(self) -> tuple[float, str]:
        now = time.monotonic()
        test_left = self.test_start + self.test_seconds + self.credit - now
        check_left = self.check_start + self.check_seconds + self.check_credit - now
        if check_left < test_left:
            return check_left, "check"
        return test_left, "test"


def _tensors_in(value):
    import torch

    if isinstance(value, torch.Tensor):
        yield value
    elif type(value) in (list, tuple):
        for v in value:
            yield from _tensors_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors_in(v)


def _changed(shared: wire.SharedArgs | None, value) -> bool:
    """Whether any tensor in argument `value` differs now, in the shared memory, from what was sent."""
    return shared is not None and any(shared.holds(t) and shared.changed(t) for t in _tensors_in(value))


def _after(shared: wire.SharedArgs | None, value):
    """Argument `value` after the call: its tensors as the shared memory holds them now."""
    import torch

    if isinstance(value, torch.Tensor):
        return shared.after(value) if shared is not None and shared.holds(value) else value.clone()
    if type(value) in (list, tuple):
        items = [_after(shared, v) for v in value]
        return items if type(value) is list else tuple(items)
    if isinstance(value, dict):
        return {k: _after(shared, v) for k, v in value.items()}
    return value


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

    def __init__(self, config: WorkerConfig, clock: Clock, spawner=None, reaper=None):
        self._config = config
        self._clock = clock
        self._spawner = spawner or WorkerProcess  # config -> WorkerProcess (a warm pool's spawn)
        self._reaper = reaper  # called when a worker is replaced: kills what it left behind
        self._worker: WorkerProcess | None = None
        self._generation = 0  # bumps when a worker is replaced: old handles die with it
        self._import_problem: SubmissionProblem | None = None
        self.names: list[str] = []
        self.output_log: list[str] = []
        self.learner_seconds = 0.0  # time in calls to the worker (its compute and the transfers), for the benchmark

    # -- worker lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        """Spawn the worker now (so torch imports while the grader loads)."""
        if self._worker is None or self._worker.dead:
            if self._worker is not None:
                self._worker.close()
                if self._reaper is not None:
                    self._reaper()
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
            # The import has a limit of its own, the test's (within what is left of the check),
            # and is not charged to the test that happens to trigger it. A file that does not
            # import in time fails every later test at once, without being imported again.
            check_left = self._clock.check_left()
            if check_left <= 0:
                raise CheckTimeExceeded("the check's time limit was used up before this test ran")
            limit = min(self._clock.test_seconds, check_left)
            waited = time.monotonic()
            try:
                ready = worker.wait_ready(limit)
            except SubmissionProblem as problem:
                self._import_problem = problem
                raise
            self._clock.credit_test(time.monotonic() - waited)
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

    def take_learner_seconds(self) -> float:
        spent, self.learner_seconds = self.learner_seconds, 0.0
        return spent

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()

    # -- calls ----------------------------------------------------------------------------
    def _send(self, message: dict, label: str) -> tuple[dict, wire.SharedArgs | None]:
        worker = self._ready_worker()
        left, which = self._clock.remaining()
        if left <= 0:
            raise CheckTimeExceeded("the check's time limit was used up before this test ran")
        sent = time.monotonic()
        try:
            reply, shared = worker.request(message, left)
        except TimeoutError as exc:
            limit = self._clock.test_seconds if which == "test" else self._clock.check_seconds
            stalled = exc.describe() if isinstance(exc, wire.FrameTimeout) else ""
            raise SubmissionTimeout(
                f"{label} did not finish within the {which}'s limit of {limit:g}s "
                + (f"({stalled})" if stalled else "(an infinite loop, or far too much work?)")) from None
        finally:
            self.learner_seconds += time.monotonic() - sent
        if not reply.get("ok"):
            if shared is not None:
                shared.close()
            end = reply.get("end", {})
            if end.get("kind") == "missing":
                raise LearnerError(end.get("message", "not defined"))
            if end.get("kind") == "oom" and worker.alive():
                worker.kill()  # a worker that hit its memory limit is not trusted to go on
            raise problem_from_end(end)
        return reply, shared

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
        """One call. `mutated` (the arguments whose tensors changed) and `args_after` are read
        here from the shared memory the call ran on, never taken from the worker's reply."""
        kwargs = kwargs or {}
        label = label or f"`{name}({_describe_args(args, kwargs)})`"
        reply, shared = self._send({
            "op": "call", "target": target, "name": name,
            "args": self._encode(tuple(args)), "kwargs": self._encode(dict(kwargs)),
        }, label)
        try:
            mutated = [i for i, a in enumerate(args) if _changed(shared, a)]
            mutated += [k for k, v in kwargs.items() if _changed(shared, v)]
            result = CallResult(value=self._decode(reply.get("value")), devices=dict(reply.get("devices") or {}),
                                mutated=mutated)
            if return_args:
                result.args_after = [_after(shared, a) for a in args]
                result.kwargs_after = {k: _after(shared, v) for k, v in kwargs.items()}
        finally:
            if shared is not None:
                shared.close()
        return result

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
        reply, _ = self._send({"op": "getattr", "target": None, "name": name}, f"`{name}`")
        return self._decode(reply.get("value"))

    def load_shipped(self, name: str, device: str):
        """A handle to a model mi-exercise ships, loaded in the worker by mi-exercise's own loader
        (the worker's "shipped" op), whatever the learner's file imports."""
        request = {"op": "shipped", "target": None, "name": name, "args": (device,), "kwargs": {}}
        reply, _ = self._send(request, f"loading the shipped {name} model on {device}")
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
        reply, _ = self._submission._send({"op": "getattr", "target": self._handle, "name": name},
                                          f"`{self._type}.{name}`")
        return self._submission._decode(reply.get("value"))

    def __repr__(self) -> str:
        return f"<learner {self._type}: {self._repr}>"
