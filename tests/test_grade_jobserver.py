"""grade's job server (cli/instructor/jobserver.py): each job a fresh fork; whatever a job leaves
behind, or a job stopped at its timeout, is dead before the job's end is reported; a server that
dies takes its jobs with it and says so (grade then runs the rest cold)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from mi_exercise.instructor import jobserver
from tests.conftest import alive

pytestmark = pytest.mark.skipif(not jobserver.available(), reason="forked jobs need Linux pidfds")

JOBS = '''
import os, sys, time


def main(argv):
    what, pid_file = argv[1], argv[2]
    if what == "daemon":  # a setsid + double-fork sleeper: not this job's child any more
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                open(pid_file + ".tmp", "w").write(str(os.getpid()))
                os.replace(pid_file + ".tmp", pid_file)
                time.sleep(120)
            os._exit(0)
        os.wait()
        while not os.path.exists(pid_file):
            time.sleep(0.01)
        return 0
    open(pid_file, "w").write(str(os.getpid()))
    if what == "sleep":
        time.sleep(120)
    print("to stdout")
    print("to stderr", file=sys.stderr)
    return 3
'''


@pytest.fixture
def server(tmp_path):
    (tmp_path / "jobs_for_test.py").write_text(JOBS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = str(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    srv = jobserver.JobServer([], env, scratch)
    yield srv
    srv.close()


def wait_for(path: Path, seconds: float = 60) -> int:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)
    return int(path.read_text())


def test_a_job_runs_in_a_fresh_fork_with_its_own_output(server, tmp_path):
    first = server.run("jobs_for_test", ["hello", str(tmp_path / "a.pid")], timeout=60)
    second = server.run("jobs_for_test", ["hello", str(tmp_path / "b.pid")], timeout=60)
    assert (first.returncode, first.stdout, first.stderr) == (3, "to stdout\n", "to stderr\n")
    assert second.returncode == 3
    pids = {int((tmp_path / n).read_text()) for n in ("a.pid", "b.pid")}
    assert len(pids) == 2 and server.proc.pid not in pids and os.getpid() not in pids


def test_what_a_job_leaves_behind_is_dead_before_its_end_is_reported(server, tmp_path):
    done = server.run("jobs_for_test", ["daemon", str(tmp_path / "daemon.pid")], timeout=60)
    assert done.returncode == 0, done.stderr
    assert not alive(int((tmp_path / "daemon.pid").read_text()))


def test_a_job_past_its_timeout_is_killed(server, tmp_path):
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        server.run("jobs_for_test", ["sleep", str(tmp_path / "sleep.pid")], timeout=3)
    assert time.monotonic() - start < 60
    assert not alive(int((tmp_path / "sleep.pid").read_text()))
    assert server.run("jobs_for_test", ["hello", str(tmp_path / "after.pid")], timeout=60).returncode == 3


def test_a_server_that_dies_takes_its_jobs_with_it(server, tmp_path):
    outcome = {}

    def job():
        try:
            outcome["result"] = server.run("jobs_for_test", ["sleep", str(tmp_path / "orphan.pid")], timeout=120)
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc

    thread = threading.Thread(target=job)
    thread.start()
    pid = wait_for(tmp_path / "orphan.pid")
    os.kill(server.proc.pid, signal.SIGKILL)
    thread.join(60)
    assert isinstance(outcome.get("error"), jobserver.JobServerGone), outcome
    assert not alive(pid)  # dead before run() gave up: a cold rerun cannot race it
    with pytest.raises(jobserver.JobServerGone):
        server.run("jobs_for_test", ["hello", str(tmp_path / "late.pid")], timeout=60)

