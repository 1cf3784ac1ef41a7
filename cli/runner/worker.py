"""The untrusted side: a subprocess that imports the learner's file and calls into it.

Started by proxy.WorkerProcess as `python -I -m mi_exercise.runner.worker REQ_FD RESP_FD`.
It reads requests from REQ_FD (a Unix socket: a request's tensors arrive as a memory file
passed with it, which the worker maps, so the learner's code works on memory the trusted side
reads back after the call) and writes replies to RESP_FD (frames of wire.py); the learner's
stdout and stderr go to a pipe the trusted side drains. It sets its own limits before any
learner code runs. Nothing here decides whether an answer is right, nor reports whether an
input was changed: the trusted side sees that for itself.
"""

from __future__ import annotations

import importlib.util
import json
import mmap
import os
import resource
import socket
import sys
import traceback

from mi_exercise.runner import inject, wire

# What each exercise.toml `needs` entry imports before the learner's file. A package's
# __init__ does not import every submodule the learner's first call uses: importing
# transformer_lens alone leaves transformer_lens.model_bridge (TransformerBridge, ~4.5 s) to
# the first call, where it would eat into that test's time limit.
PRELOAD_MODULES = {
    "transformer_lens": ("transformer_lens", "transformer_lens.model_bridge"),
}


def preload_modules(needs) -> list[str]:
    """The module names to import for the `needs` names, in order (unknown names as they are)."""
    out: list[str] = []
    for name in needs:
        for module in PRELOAD_MODULES.get(name, (name,)):
            if module not in out:
                out.append(module)
    return out


# op "shipped": the models a grader may ask the worker to load itself (name -> loader).
SHIPPED_MODELS = {"induction": "load_induction_model", "gpt2": "load_gpt2",
                  "attn-only-circuits": "load_circuits_model", "attn-only-circuits-3l": "load_circuits_model"}


def shipped_loader(name: str):
    import functools

    from mi_exercise.models import induction

    loader = getattr(induction, SHIPPED_MODELS[name])
    return functools.partial(loader, name=name) if SHIPPED_MODELS[name] == "load_circuits_model" else loader


OOM_MARKERS = ("can't allocate memory", "out of memory", "cannot allocate memory", "not enough memory")


class Worker:
    def __init__(self, req_fd: int, resp_fd: int):
        self.req_fd, self.resp_fd = req_fd, resp_fd
        self.req_sock = socket.socket(fileno=req_fd)
        self.handles: dict[int, object] = {}
        self.next_handle = 1
        self.module = None
        self.learner_dir = ""
        self.device = "cpu"
        self.copy_back: list[tuple] = []  # (tensor in shared memory, its copy on the device)

    # -- plumbing -------------------------------------------------------------------------
    def send(self, message: dict) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        wire.send(self.resp_fd, message)

    def receive(self) -> dict:
        frame, fds = wire.read_frame_fds(self.req_sock)
        shared = None
        if fds:
            for extra in fds[1:]:
                os.close(extra)
            try:  # the request's tensors: views of this mapping, written through to the file
                shared = mmap.mmap(fds[0], 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
            finally:
                os.close(fds[0])
        return wire.decode_frame(frame, shared=shared)

    # -- values ---------------------------------------------------------------------------
    def to_wire(self, value, devices: dict, path: str = "result"):
        import torch

        if isinstance(value, torch.Tensor):
            devices[path] = str(value.device)
            if value.device.type == "meta":  # no data to copy: the device check will say why
                return torch.zeros(value.shape, dtype=value.dtype)
            # A plain CPU tensor: no autograd graph, no subclass behaviour crosses back. No copy
            # here: the reply is encoded at once, and wire.encode copies the tensor's bytes.
            return value.detach().to("cpu").as_subclass(torch.Tensor)
        if value is None or type(value) in (bool, int, float, complex, str, bytes, torch.Size, torch.dtype):
            return value
        for base in (bool, int, float, str):  # subclasses (enums, version strings) cross as their base
            if isinstance(value, base) and not isinstance(value, torch.Tensor):
                return base(value)
        if isinstance(value, torch.device):
            return str(value)
        if type(value) in (list, tuple):
            items = [self.to_wire(v, devices, f"{path}[{i}]") for i, v in enumerate(value)]
            return items if type(value) is list else tuple(items)
        if type(value) is dict and all(isinstance(k, (str, int)) for k in value):
            return {k: self.to_wire(v, devices, f"{path}[{k!r}]") for k, v in value.items()}
        if hasattr(value, "items") and hasattr(value, "keys") and type(value).__name__ == "OrderedDict":
            return {k: self.to_wire(v, devices, f"{path}[{k!r}]") for k, v in value.items()}
        handle = self.next_handle
        self.next_handle += 1
        self.handles[handle] = value
        try:
            text = repr(value)[:200]
        except Exception:  # a learner's __repr__ may raise
            text = f"<{type(value).__name__}>"
        return {wire.HANDLE: handle, "type": type(value).__name__, "repr": text}

    def from_wire(self, value):
        import torch

        if isinstance(value, torch.Tensor):
            if self.device == "cpu":
                return value
            moved = value.to(self.device)
            self.copy_back.append((value, moved))
            return moved
        if wire.is_handle(value):
            return self.handles[value[wire.HANDLE]]
        if type(value) in (list, tuple):
            items = [self.from_wire(v) for v in value]
            return items if type(value) is list else tuple(items)
        if type(value) is dict:
            return {k: self.from_wire(v) for k, v in value.items()}
        return value

    # -- errors ---------------------------------------------------------------------------
    def learner_frames(self, tb) -> list[str]:
        """Traceback lines from the learner's own files only (not ours, not torch's)."""
        frames = traceback.extract_tb(tb)
        mine = [f for f in frames if os.path.abspath(f.filename).startswith(self.learner_dir + os.sep)]
        lines = []
        for f in mine[-6:]:
            lines.append(f'  File "{os.path.basename(f.filename)}", line {f.lineno}, in {f.name}')
            if f.line:
                lines.append(f"    {f.line.strip()}")
        return lines

    def describe(self, exc: BaseException) -> dict:
        if isinstance(exc, SystemExit):
            return {"kind": "exited", "message": f"your code called sys.exit({exc.code!r}); "
                    "graded functions must return a value, not end the program"}
        text = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, MemoryError) or any(m in str(exc).lower() for m in OOM_MARKERS):
            return {"kind": "oom", "message": "ran out of memory: " + text[:500],
                    "traceback": self.learner_frames(exc.__traceback__)}
        if type(exc) is NotImplementedError:
            frames = self.learner_frames(exc.__traceback__)
            where = frames[0].strip() if frames else ""
            return {"kind": "error", "message": f"not implemented yet ({exc or 'NotImplementedError'})"
                    + (f" at {where.replace('File ', '')}" if where else "")}
        if isinstance(exc, SyntaxError) and exc.filename:
            where = f'  File "{os.path.basename(exc.filename)}", line {exc.lineno}'
            lines = [where] + ([f"    {exc.text.rstrip()}"] if exc.text else [])
            return {"kind": "error", "message": f"{type(exc).__name__}: {exc.msg}", "traceback": lines}
        return {"kind": "error", "message": text[:2000], "traceback": self.learner_frames(exc.__traceback__)}

    # -- lifecycle ------------------------------------------------------------------------
    def boot(self, config: dict) -> None:
        import signal

        # Output goes to a pipe the trusted side drains (it keeps the first and last lines);
        # files the learner's code writes must not fill the disk.
        out_limit = int(config.get("output_file_mb", 32)) << 20
        resource.setrlimit(resource.RLIMIT_FSIZE, (out_limit, out_limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails instead of killing us

        import torch

        for name in preload_modules(config.get("preload", [])):
            importlib.import_module(name)
        if config.get("threads"):  # before any learner code; a learner's own call may change it
            torch.set_num_threads(int(config["threads"]))
        self.device = pick_device(config.get("device", "auto"))
        memory_mb = config.get("memory_mb")
        if memory_mb and self.device == "cpu":
            # An address-space limit; CUDA needs huge virtual mappings, so GPUs go without it.
            limit = int(memory_mb) << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        if self.device.startswith("cuda"):
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        torch.manual_seed(0)
        self.send({"kind": "booted", "device": self.device, "torch": str(torch.__version__)})

    def load_learner(self, path: str, module_name: str) -> None:
        self.learner_dir = os.path.dirname(os.path.abspath(path))
        sys.path.insert(0, self.learner_dir)
        sys.argv = [path]
        # Compile the file as it is now, never from __pycache__: a .pyc is reused when the
        # source's size and mtime (whole seconds) match, so a one-character fix saved within
        # the same second would be graded as the old code. Nor do we litter the workspace.
        sys.dont_write_bytecode = True
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            with open(path, "rb") as fh:
                code = compile(fh.read(), path, "exec", dont_inherit=True)
            exec(code, module.__dict__)  # noqa: S102 - this process exists to run learner code
        except BaseException as exc:  # noqa: BLE001 - anything the learner's import does
            end = self.describe(exc)
            if end["kind"] == "error":
                end["kind"] = "import_error"
            self.send({"kind": "ready", "error": end})
            return
        self.module = module
        names = sorted(n for n in vars(module) if not n.startswith("_"))
        self.send({"kind": "ready", "error": None, "names": names})

    def handle(self, request: dict) -> dict:
        op = request["op"]
        target = self.module if request.get("target") is None else self.handles[request["target"]]
        name = request.get("name")
        if op == "release":
            self.handles.pop(request["target"], None)
            return {"ok": True, "value": None, "devices": {}}
        if op == "getattr":
            if not hasattr(target, name):
                return {"ok": False, "end": {"kind": "missing", "message": f"`{name}` is not defined"}}
            devices: dict = {}
            return {"ok": True, "value": self.to_wire(getattr(target, name), devices), "devices": devices}
        # op == "call", or "shipped": a model mi-exercise ships, loaded by its own loader, so a
        # grader never depends on the learner's file importing it (plugin's shipped_model)
        fn = shipped_loader(name) if op == "shipped" else target if name is None else getattr(target, name, None)
        if fn is None:
            return {"ok": False, "end": {"kind": "missing", "message": f"`{name}` is not defined in your file"}}
        self.copy_back = []
        args = self.from_wire(request.get("args", ()))
        kwargs = self.from_wire(request.get("kwargs", {}))
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - learner code may raise anything
            return {"ok": False, "end": self.describe(exc)}
        finally:
            self.write_back()
        devices = {}
        return {"ok": True, "value": self.to_wire(value, devices), "devices": devices}

    def write_back(self) -> None:
        """Arguments moved to a GPU were changed there: copy them back into the shared memory
        the trusted side reads (on a GPU its in-place check rests on this copy)."""
        for shared, moved in self.copy_back:
            try:
                if moved.shape == shared.shape and moved.dtype == shared.dtype:
                    shared.copy_(moved.detach().to("cpu"))
            except Exception:  # noqa: BLE001 - the learner may have freed or resized it
                pass
        self.copy_back = []

    def serve(self) -> None:
        while True:
            try:
                request = self.receive()
            except wire.ChannelClosed:
                return
            if request.get("op") == "shutdown":
                return
            try:
                reply = self.handle(request)
            except BaseException as exc:  # noqa: BLE001 - e.g. a learner's __getattr__ raising
                reply = {"ok": False, "end": self.describe(exc)}
            try:
                self.send(reply)
            except Exception as exc:  # noqa: BLE001 - a value the wire format cannot carry
                self.send({"ok": False, "end": {"kind": "error", "message": f"could not send your result back: {exc}"}})
            # Drop the request's arguments now, not when the next request arrives: unmapping
            # their memory file is then off the next call's path.
            del request, reply


def pick_device(requested: str) -> str:
    import torch

    if requested == "cpu":
        return "cpu"
    if requested in ("cuda", "auto") and torch.cuda.is_available():
        return "cuda"
    if requested in ("mps", "auto") and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def main(argv: list[str]) -> None:
    req_fd, resp_fd = int(argv[1]), int(argv[2])
    worker = Worker(req_fd, resp_fd)
    config = json.loads(wire.read_frame(req_fd))  # JSON: read before torch is imported
    worker.boot(config)
    inject.register(config.pop("inject", ()))  # reference parts the learner's file imports (inject.py)
    worker.load_learner(config["learner_file"], config["module_name"])
    worker.serve()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
