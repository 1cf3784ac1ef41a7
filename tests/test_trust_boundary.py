"""A submission that attacks the trust boundary (issue 13) gets nothing past it.

Each case is a hostile learner file run through the real CLI (`check`, and `grade` for the
process that outlives its job) in a world-readable temporary folder, as this user and, where
the machine allows, as `nobody`. Every case failed on the code before issue 13:
- torch functions replaced at import hid an in-place change (the worker compared its inputs);
- a reply header followed by silence hung the check far past every limit, a partial frame
  was 'not a plain value', a worker that stopped reading its requests hung the check forever;
- a setsid + double-fork daemon outlived `check` and `grade` and rewrote their results;
- a loop at module level cost every test its limit; a 200 MB print failed every test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import alive, copy_content, solution_text

LEARNER = Path("00-foundations") / "tensor_basics.py"
SOLUTION = solution_text("foundations", "tensor-basics")
TEST_SECONDS = 4
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
NOBODY_READING = [*NOBODY[:-1], "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--"]


# -- running the CLI as a user, in a folder that user can read ---------------------------------
@pytest.fixture(params=["this-user", "nobody"])
def prefix(request) -> list[str]:
    if request.param == "this-user":
        return []
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("running as nobody needs root and setpriv")
    # The CLI starts the interpreter again for its worker: that must work as nobody too. Where
    # the interpreter sits in a folder nobody cannot enter (/root, 0700), nobody keeps one
    # capability, to read files (CAP_DAC_READ_SEARCH): still no other user's processes to
    # signal, no privileged prctl, which is what containment must do without.
    nested = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'import torch, mi_exercise'], check=True)"
    for user in (NOBODY, NOBODY_READING):
        probe = subprocess.run([*user, sys.executable, "-c", nested], capture_output=True, text=True, timeout=120)
        if probe.returncode == 0:
            return user
    pytest.skip(f"nobody cannot run this interpreter ({sys.executable}): "
                + (probe.stderr.strip().splitlines() or ["?"])[-1])


class Space:
    """A temporary folder (world-readable: not pytest's 0700 tmp) with a copy of tensor-basics'
    content, a HOME, and the CLI run in it as the chosen user."""

    def __init__(self, prefix: list[str]):
        self.prefix = prefix
        self.root = Path(tempfile.mkdtemp(prefix="mi-trust-", dir="/tmp"))
        self.content = copy_content(self.root / "content", ["tensor-basics"])
        self.toml = self.content / "exercises" / "foundations" / "tensor-basics" / "exercise.toml"
        self.set_test_seconds(TEST_SECONDS)
        self.grader = self.content / "graders" / "foundations" / "tensor-basics" / "test_tensor_basics.py"
        (self.root / "home").mkdir()
        # Unsandboxed: these attacks are against the layer that must hold without a sandbox
        # (deadlines, the trusted side's in-place reading, the subreaper); test_sandbox.py runs
        # the same classes under bwrap.
        self.env = {"MI_EXERCISE_CONTENT": str(self.content), "HOME": str(self.root / "home"),
                    "MI_EXERCISE_SANDBOX": "off"}

    def set_test_seconds(self, seconds: int) -> None:
        text = self.toml.read_text()
        for old in ("test_seconds = 10", f"test_seconds = {TEST_SECONDS}"):
            text = text.replace(old, f"test_seconds = {seconds}")
        self.toml.write_text(text)

    def open_up(self) -> None:
        for folder, dirs, files in os.walk(self.root):
            os.chmod(folder, 0o777)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o666)

    def cli(self, *args: str, cwd: Path | None = None, timeout: float = 150) -> subprocess.CompletedProcess:
        self.open_up()
        env = {**os.environ, **self.env}
        env.pop("PYTEST_CURRENT_TEST", None)
        return subprocess.run([*self.prefix, sys.executable, "-m", "mi_exercise", *args], cwd=cwd or self.root,
                              env=env, text=True, capture_output=True, timeout=timeout)

    def workspace(self, source: str) -> Path:
        ws = self.root / "ws"
        init = self.cli("init", str(ws))
        assert init.returncode == 0, init.stdout + init.stderr
        (ws / LEARNER).write_text(source)
        return ws

    def check(self, source: str, timeout: float = 150) -> tuple[dict, dict]:
        ws = self.workspace(source)
        result = self.cli("check", "tensor-basics", "--json", cwd=ws, timeout=timeout)
        assert result.returncode in (0, 1), result.stdout + result.stderr
        assert "Traceback (most recent call last)" not in result.stderr, result.stderr
        data = json.loads(result.stdout)["results"][0]
        return {t["name"]: t for t in data["tests"]}, data

    def processes(self) -> list[str]:
        """Live processes whose folder is in this space (every worker starts in the learner's)."""
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                cwd = os.readlink(f"/proc/{name}/cwd")
                with open(f"/proc/{name}/stat") as fh:
                    state = fh.read().rsplit(")", 1)[1].split()[0]
                cmd = open(f"/proc/{name}/cmdline", "rb").read().replace(b"\0", b" ").decode()[:120]
            except OSError:
                continue
            if cwd.startswith(str(self.root)) and state != "Z":
                found.append(f"{name} {cmd}")
        return found


@pytest.fixture
def space(prefix):
    s = Space(prefix)
    yield s
    for line in s.processes():  # never leave a stray behind, even when a test fails
        try:
            os.kill(int(line.split()[0]), 9)
        except OSError:
            pass
    shutil.rmtree(s.root, ignore_errors=True)


def replace(source: str, old: str, new: str) -> str:
    assert old in source
    return source.replace(old, new)


def body(name: str) -> str:
    """The line after `def name(...)` in the solution: where a function's hostile code goes."""
    start = SOLUTION.index(f"def {name}(")
    return SOLUTION[start:SOLUTION.index("\n", start) + 1]


# -- 1. in-place changes are seen by the trusted side --------------------------------------------
INPLACE_FORGER = replace(SOLUTION, body("scaled_copy"), body("scaled_copy") + "    x.mul_(factor)\n    return x + 0\n") + '''

# Make every comparison the worker could make say "unchanged".
torch.equal = lambda *a, **k: True
torch.allclose = lambda *a, **k: True
torch.Tensor.clone = lambda self, *a, **k: self
torch.Tensor.equal = lambda self, *a, **k: True
'''


def test_an_inplace_change_is_caught_whatever_the_worker_patched(space):
    tests, data = space.check(INPLACE_FORGER)
    copy = tests["test_inplace_vs_copy"]
    assert copy["outcome"] == "failed", copy
    assert "scaled_copy(Tensor[3, 4], 2.5)` changed its input in place (argument 0)" in copy["message"]
    # scale_inplace's result (read back from the shared memory) is still right, and nothing else broke
    assert data["tests_passed"] == data["tests_total"] - 1
    assert space.processes() == []


# -- 4. deadlines on whole frames, both directions -----------------------------------------------
def on_every_fd(function: str, data: str, then: str) -> str:
    """The solution with `function` writing `data` (an expression) to every inherited fd, then `then`."""
    return replace(SOLUTION, body(function), body(function) + f'''    import os, struct, time
    for fd in range(3, 40):
        try:
            os.write(fd, {data})
        except OSError:
            pass
    {then}
''')


FRAME_STALLER = on_every_fd("arange_grid", 'struct.pack("!Q", 1000)', "time.sleep(600)")  # a header, then silence
FRAME_CUTTER = on_every_fd("diag_matrix", 'struct.pack("!Q", 1000) + b"{}{}"', "os._exit(0)")  # 12 bytes, then the end


def test_a_reply_that_stalls_after_its_header_is_a_timeout_within_the_test_limit(space):
    started = time.monotonic()
    tests, data = space.check(FRAME_STALLER, timeout=120)
    stalled = tests["test_arange_grid"]
    assert stalled["outcome"] == "timeout", stalled
    assert f"did not finish within the test's limit of {TEST_SECONDS}s (8 of 1008 bytes of its reply came" \
        in stalled["message"]
    assert stalled["seconds"] < TEST_SECONDS + 2
    assert data["tests_passed"] == data["tests_total"] - 1  # the next test got a fresh worker
    assert time.monotonic() - started < 100
    assert space.processes() == []


def test_a_partial_reply_is_reported_as_one(space):
    tests, data = space.check(FRAME_CUTTER)
    cut = tests["test_diag_matrix"]
    assert cut["outcome"] == "error", cut
    assert "partial frame: 12 of 1008 bytes, then the stream ended" in cut["message"]
    assert data["tests_passed"] == data["tests_total"] - 1


DEAF = SOLUTION + '''

# The first worker stops reading its requests (every later one behaves).
import os, sys, time
_wire = sys.modules.get("mi_exercise.runner.wire")
_marker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "went-deaf")
if _wire is not None and not os.path.exists(_marker):
    open(_marker, "w").close()
    def _never(*args, **kwargs):
        time.sleep(3600)
    for _name in ("receive", "read_frame", "read_frame_fds"):
        setattr(_wire, _name, _never)
'''
BIG_REQUEST_GRADER = '''
import torch
from mi_exercise.grading import assert_close


def test_a_big_request(submission):
    # 400,000 indices: a request far larger than any pipe or socket buffer
    submission.select_rows(torch.zeros(3, 2), list(range(400_000)))


def test_arange_grid(submission, reference):
    assert_close(submission.arange_grid(2, 3), reference.arange_grid(2, 3), name="arange_grid(2, 3)")
'''


def test_a_worker_that_stops_reading_cannot_hang_the_check(space):
    space.grader.write_text(BIG_REQUEST_GRADER)
    tests, data = space.check(DEAF, timeout=120)
    big = tests["test_a_big_request"]
    assert big["outcome"] == "timeout", big
    assert "it stopped reading its requests" in big["message"]
    assert big["seconds"] < TEST_SECONDS + 2
    assert tests["test_arange_grid"]["outcome"] == "passed"
    assert space.processes() == []


# -- 5. nothing outlives the check ---------------------------------------------------------------
def escaper(space: Space, target: Path) -> str:
    """A solution whose first call starts a daemon (setsid + double fork, every fd closed) that
    waits for a trigger file, then writes `target`."""
    pidfile, trigger = space.root / "daemon.pid", space.root / "trigger"
    return replace(SOLUTION, body("arange_grid"), body("arange_grid") + f'''    import os, time
    if not os.path.exists({str(pidfile)!r}):
        child = os.fork()
        if child == 0:
            os.setsid()
            if os.fork() == 0:
                os.closerange(0, 1024)
                with open({str(pidfile)!r} + ".tmp", "w") as fh:
                    fh.write(str(os.getpid()))
                os.rename({str(pidfile)!r} + ".tmp", {str(pidfile)!r})
                while not os.path.exists({str(trigger)!r}):
                    time.sleep(0.05)
                with open({str(target)!r}, "w") as fh:
                    fh.write("written by a process that outlived its check")
                os._exit(0)
            os._exit(0)
        os.waitpid(child, 0)
        while not os.path.exists({str(pidfile)!r}):
            time.sleep(0.01)
''')


def assert_daemon_is_gone(space: Space, target: Path, before: str | None) -> None:
    alive_after = alive(int((space.root / "daemon.pid").read_text()))
    (space.root / "trigger").write_text("go")
    time.sleep(1.0)
    assert not alive_after, "the daemon outlived the check"
    assert (target.read_text() if target.exists() else None) == before
    assert space.processes() == []


def test_a_daemon_started_by_the_submission_dies_with_the_check(space):
    target = space.root / "escaped.txt"
    tests, data = space.check(escaper(space, target))
    assert data["passed"], data
    assert_daemon_is_gone(space, target, None)


def test_a_daemon_started_through_the_warm_worker_dies_with_the_check(space):
    target = space.root / "escaped.txt"
    ws = space.workspace(escaper(space, target))
    space.env["MI_EXERCISE_SERVER"] = "on"  # the warm worker is the check server's
    up = space.cli("worker", "start", "-C", str(ws))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        result = space.cli("check", "tensor-basics", "--json", cwd=ws)
        assert json.loads(result.stdout)["results"][0]["passed"], result.stdout + result.stderr
        status = space.cli("worker", "status", cwd=ws)
        assert "1 workers forked" in status.stdout, status.stdout  # the zygote forked it
        assert_daemon_is_gone(space, target, None)
    finally:
        space.cli("worker", "stop", "-C", str(ws))
    assert space.processes() == []


def test_a_daemon_started_by_a_submission_dies_before_grade_writes(space):
    sub = space.root / "class" / "escaper"
    (sub / LEARNER).parent.mkdir(parents=True)
    out = space.root / "out"
    target = out / "summary.json"
    (sub / LEARNER).write_text(escaper(space, target))
    result = space.cli("grade", str(sub), "--out", str(out), "--no-sandbox", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = target.read_text()
    assert json.loads(summary)["learners"][0]["percent"] == 100.0
    assert_daemon_is_gone(space, target, summary)


# -- 6. import limit and output ------------------------------------------------------------------
def test_a_loop_at_module_level_costs_one_test_limit(space):
    tests, data = space.check("import torch\nwhile True:\n    pass\n")
    message = f"your file took longer than {TEST_SECONDS} s to import (a loop at module level?)"
    assert all(t["outcome"] == "timeout" and t["message"] == message for t in tests.values()), tests
    assert sum(t["seconds"] for t in tests.values()) < TEST_SECONDS + 3
    assert data["seconds"] < 60  # of the check's 120
    assert space.processes() == []


FLOOD = replace(SOLUTION, body("arange_grid"), body("arange_grid") + '''    import sys
    if not getattr(sys, "flooded", False):
        sys.flooded = True
        sys.stdout.write("FIRST LINE\\n" + ("x" * 99 + "\\n") * 2_000_000 + "LAST LINE\\n")
''')


def test_a_solution_that_prints_200_mb_passes_and_the_report_shows_both_ends(space):
    space.set_test_seconds(10)
    tests, data = space.check(FLOOD)
    assert data["passed"], data
    out = tests["test_arange_grid"]["output"]
    assert out.startswith("[your code printed 200,000,021 bytes (200.0 MB); the first and last lines follow")
    assert "FIRST LINE\nxxx" in out and out.endswith("xxx\nLAST LINE\n")
    assert len(out) < 70_000
