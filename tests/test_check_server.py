"""The check server (mi_exercise.server): warm, and every guarantee of a cold check kept.

Each test runs the real CLI in a temporary workspace with a private copy of tensor-basics'
content, the server on (conftest turns it off for every other test). What is checked: a warm
check prints and exits as a cold one; no state survives from one check to the next on either
side (a grader that changes a module global, a learner file that patches torch, a grader that
crashes the trusted child); the server starts after a cold check, stops when idle, when the
content changes, on `server stop`; a stale socket is replaced, never trusted; the opt-outs;
the socket is the owner's alone and out of a sandboxed worker's reach; Ctrl-C reaches the
command and kills what it started.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SOLUTIONS, alive, run_cli
from tests.test_sandbox import needs_sandbox

LEARNER = Path("00-foundations") / "tensor_basics.py"
SOLUTION = (SOLUTIONS / "foundations" / "tensor-basics" / "solution.py").read_text()


def served(ws: Path, env: dict) -> int:
    status = run_cli("server", "status", "-C", str(ws), env=env)
    match = re.search(r"(\d+) commands served", status.stdout)
    return int(match.group(1)) if match else -1


def server_pid(ws: Path) -> int | None:
    try:
        return json.loads((ws / ".mi-exercise" / "server.json").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def wait_until(predicate, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture
def space(content, tmp_path):
    """A workspace with tensor-basics solved, an environment with the server on, and a server
    started; stopped (and checked gone) afterwards."""
    env = {"MI_EXERCISE_CONTENT": str(content), "MI_EXERCISE_SERVER": "on", "CI": "",
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data")}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    (ws / LEARNER).write_text(SOLUTION)
    grader = content / "graders" / "foundations" / "tensor-basics" / "test_tensor_basics.py"

    class Space:
        pass

    s = Space()
    s.ws, s.env, s.content, s.grader = ws, env, content, grader

    def start():
        up = run_cli("server", "start", "-C", str(ws), env=env)
        assert up.returncode == 0 and "check server running" in up.stdout, up.stdout + up.stderr
        return server_pid(ws)

    def check(*args, **kw):
        return run_cli("check", "tensor-basics", *args, cwd=ws, env={**env, **kw.pop("env", {})}, **kw)

    s.start, s.check = start, check
    yield s
    pid = server_pid(ws)
    run_cli("server", "stop", "-C", str(ws), env=env)
    assert wait_until(lambda: not alive(pid), 15), "the server outlived `server stop`"


def without_timing(text: str) -> str:
    return re.sub(r"\d+\.\d+s", "N s", text)


def test_a_warm_check_prints_and_exits_as_a_cold_one(space):
    space.start()
    for source, code in ((SOLUTION, 0), ((space.content / "exercises" / "foundations" / "tensor-basics" / "stub.py").read_text(), 1)):
        (space.ws / LEARNER).write_text(source)
        before = served(space.ws, space.env)
        warm = space.check()
        assert served(space.ws, space.env) == before + 1, "the check did not go through the server"
        cold = space.check("--no-server")
        assert served(space.ws, space.env) == before + 1, "--no-server went through the server"
        assert (warm.returncode, without_timing(warm.stdout)) == (code, without_timing(cold.stdout)) == (cold.returncode, without_timing(cold.stdout))
        warm_json, cold_json = (json.loads(space.check("--json", *extra).stdout) for extra in ((), ("--no-server",)))
        for data in (warm_json, cold_json):
            for r in data["results"]:
                r.pop("seconds"), r.pop("started_at", None)
                for t in r["tests"]:
                    t.pop("seconds"), t.pop("learner_seconds")
        assert warm_json == cold_json
    usage = space.check("--no-such-flag")
    assert usage.returncode == 2 and "No such option" in usage.stderr


def test_no_state_survives_from_one_check_to_the_next(space):
    """A grader that changes a module global, a learner file that patches torch: the next check
    sees neither (a fresh trusted child, a fresh worker)."""
    space.grader.write_text(space.grader.read_text() + '''

def test_trusted_state_is_fresh():
    import mi_exercise.grading as g
    assert not hasattr(g, "_left_by_an_earlier_check"), "the trusted side kept a grader's global"
    g._left_by_an_earlier_check = True
''')
    space.start()
    patched = SOLUTION + """
def _broken(*args, **kwargs):
    raise RuntimeError("torch was patched by a learner's file")
for _name in ("tensor", "arange", "zeros", "ones", "stack", "cat", "where", "matmul", "einsum"):
    setattr(torch, _name, _broken)
for _name in ("sum", "mean", "reshape", "view", "__add__", "__mul__", "__matmul__", "permute", "transpose"):
    setattr(torch.Tensor, _name, _broken)
"""
    for source, passed in ((SOLUTION, True), (patched, False), (SOLUTION, True), (SOLUTION, True)):
        (space.ws / LEARNER).write_text(source)
        result = space.check("--json")
        data = json.loads(result.stdout)["results"][0]
        assert data["passed"] is passed, result.stdout
        fresh = next(t for t in data["tests"] if t["name"] == "test_trusted_state_is_fresh")
        assert fresh["outcome"] == "passed", fresh
    assert served(space.ws, space.env) == 4


def test_a_check_that_crashes_the_trusted_child_ends_alone(space):
    space.grader.write_text(space.grader.read_text() + '''

def test_crash_when_asked():
    import os, signal
    if os.environ.get("CRASH_THE_GRADER"):
        os.kill(os.getpid(), signal.SIGSEGV)
''')
    pid = space.start()
    crashed = space.check(env={"CRASH_THE_GRADER": "1"})
    assert crashed.returncode == 1, crashed.stdout + crashed.stderr
    assert "crashed (SIGSEGV)" in crashed.stderr and "--no-server" in crashed.stderr
    assert alive(pid)
    after = space.check()
    assert after.returncode == 0, after.stdout + after.stderr
    assert served(space.ws, space.env) == 2 and server_pid(space.ws) == pid


def test_a_cold_check_starts_the_server_and_it_stops_when_idle(space):
    env = {**space.env, "MI_EXERCISE_SERVER_IDLE": "10"}
    first = run_cli("check", "tensor-basics", cwd=space.ws, env=env)
    assert first.returncode == 0 and "started a check server in the background" in first.stderr, first.stderr
    assert wait_until(lambda: served(space.ws, env) == 0, 120), (space.ws / ".mi-exercise" / "server.log").read_text()
    pid = server_pid(space.ws)
    second = run_cli("check", "tensor-basics", cwd=space.ws, env=env)
    assert second.returncode == 0 and "started a check server" not in second.stderr
    assert served(space.ws, env) == 1
    assert wait_until(lambda: not alive(pid), 30), "the server did not stop when idle"
    assert not (space.ws / ".mi-exercise" / "server.sock").exists()
    ci = run_cli("check", "tensor-basics", cwd=space.ws, env={**env, "CI": "true"})
    assert ci.returncode == 0 and "started a check server" not in ci.stderr
    time.sleep(1)
    assert run_cli("server", "status", "-C", str(space.ws), env=env).returncode == 1, "a server started in CI"


def test_opting_out_never_uses_the_server(space):
    space.start()
    assert space.check("--no-server").returncode == 0
    assert space.check(env={"MI_EXERCISE_SERVER": "off"}).returncode == 0
    assert run_cli("validate", "tensor-basics", "--no-server", cwd=space.ws, env=space.env).returncode == 0
    assert served(space.ws, space.env) == 0
    off = run_cli("server", "start", "-C", str(space.ws), env={**space.env, "MI_EXERCISE_SERVER": "off"})
    assert off.returncode != 0 and "turned off" in off.stderr


def test_validate_and_watch_go_through_it_too(space):
    space.start()
    result = run_cli("validate", "tensor-basics", cwd=space.ws, env=space.env)
    assert result.returncode == 0 and "1/1 exercises valid" in result.stdout, result.stdout + result.stderr
    assert served(space.ws, space.env) == 1


def test_a_changed_grader_makes_the_server_stale(space):
    pid = space.start()
    space.grader.write_text(space.grader.read_text() + "\n\ndef test_added_later():\n    pass\n")
    result = space.check("--json")
    tests = [t["name"] for t in json.loads(result.stdout)["results"][0]["tests"]]
    assert "test_added_later" in tests, "a stale server graded with the old content"
    assert wait_until(lambda: not alive(pid), 30), "the stale server did not stop"
    assert wait_until(lambda: served(space.ws, space.env) == 0, 120), "the next server did not start"
    assert server_pid(space.ws) != pid


def test_a_stale_socket_is_replaced_not_trusted(space):
    pid = space.start()
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(pid), 10)
    sock = space.ws / ".mi-exercise" / "server.sock"
    assert sock.exists()  # what a crash leaves
    result = space.check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert wait_until(lambda: served(space.ws, space.env) == 0, 120), "no fresh server replaced the dead one"
    assert server_pid(space.ws) != pid


def test_a_socket_of_another_owner_is_never_used(space, tmp_path):
    from mi_exercise.server import client

    fake = tmp_path / "fake" / ".mi-exercise"
    fake.mkdir(parents=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(fake / "server.sock"))
    listener.listen(1)
    try:
        assert client.connect(fake) is not None  # ours: used
        if os.geteuid() == 0:
            os.chown(fake / "server.sock", 65534, 65534)
            assert client.connect(fake) is None  # another user's: never talked to
    finally:
        listener.close()
    space.start()
    sock = space.ws / ".mi-exercise" / "server.sock"
    assert (sock.stat().st_mode & 0o777) == 0o600


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to be another user")
def test_another_user_cannot_reach_the_server(space):
    space.start()
    for folder in [space.ws, *space.ws.parents]:
        os.chmod(folder, os.stat(folder).st_mode | 0o005)  # let nobody see the workspace, not the socket
    sock = space.ws / ".mi-exercise" / "server.sock"
    probe = subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c",
                            f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({str(sock)!r})"],
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "PermissionError" in probe.stderr, probe.stderr


@needs_sandbox
def test_a_sandboxed_worker_cannot_reach_the_server(space):
    space.env.pop("MI_EXERCISE_SANDBOX", None)
    space.start()
    sock = space.ws / ".mi-exercise" / "server.sock"
    spy = f'''
import socket
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect({str(sock)!r})
    print("SPY: connected")
except OSError as exc:
    print("SPY: refused", type(exc).__name__)
''' + SOLUTION
    (space.ws / LEARNER).write_text(spy)
    result = space.check("--json", "--sandbox")
    data = json.loads(result.stdout)["results"][0]
    seen = " ".join(t.get("output", "") for t in data["tests"])
    assert "SPY: refused" in seen and "SPY: connected" not in seen, seen
    assert served(space.ws, space.env) == 1


def test_ctrl_c_reaches_the_command_and_kills_what_it_started(space):
    toml = space.content / "exercises" / "foundations" / "tensor-basics" / "exercise.toml"
    space.start()
    marker = f"mi-server-sleeper-{os.getpid()}"
    (space.ws / LEARNER).write_text(f"import time, subprocess, sys\n"
                                   f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', {marker!r}])\n"
                                   f"time.sleep(60)\n" + SOLUTION)
    assert toml.exists()
    env = {**os.environ, **space.env}
    env.pop("PYTEST_CURRENT_TEST", None)
    proc = subprocess.Popen([sys.executable, "-m", "mi_exercise", "check", "tensor-basics"], cwd=space.ws, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_until(lambda: _with_marker(marker), 60), "the learner's code never ran"
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("Ctrl-C did not end a check run by the server")
    assert proc.returncode != 0
    assert wait_until(lambda: not _with_marker(marker), 10), "a process the check started outlived Ctrl-C"
    (space.ws / LEARNER).write_text(SOLUTION)
    assert space.check().returncode == 0  # and the server goes on


def _with_marker(marker: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{name}/cmdline").read_bytes():
                    found.append(int(name))
            except OSError:
                pass
    return found


def test_watch_runs_in_the_server_on_its_warm_worker(space):
    space.start()
    env = {**os.environ, **space.env}
    env.pop("PYTEST_CURRENT_TEST", None)
    proc = subprocess.Popen([sys.executable, "-m", "mi_exercise", "watch", "tensor-basics"], cwd=space.ws, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def status():
            return run_cli("server", "status", "-C", str(space.ws), env=space.env).stdout

        assert wait_until(lambda: "running: watch tensor-basics" in status() and "1 workers forked" in status(), 60), status()
        (space.ws / LEARNER).write_text(SOLUTION + "\n# saved again\n")
        assert wait_until(lambda: "2 workers forked" in status(), 60), status()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "watch stopped" in out, out
    assert "11/11 passed" in out


def test_grade_goes_through_it_and_keeps_its_results(space, tmp_path):
    space.start()
    sub = tmp_path / "class" / "learner-a"
    (sub / LEARNER).parent.mkdir(parents=True)
    (sub / LEARNER).write_text(SOLUTION)
    out = tmp_path / "out"
    result = run_cli("grade", str(sub), "--out", str(out), "--no-sandbox", cwd=space.ws, env=space.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((out / "summary.json").read_text())["learners"][0]["percent"] == 100.0
    assert served(space.ws, space.env) == 1
