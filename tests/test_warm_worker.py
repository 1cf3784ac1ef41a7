"""The warm worker (zygote) keeps every guarantee of the cold worker.

Each check's worker is forked fresh (a global changed in one is fresh in the next), ends are
classified exactly as with a cold worker, the zygote survives whatever a child does, and the
red-team submissions of test_bad_submissions get the same verdicts through a running
check server (`mi-exercise worker start`, the server's older name).
"""

from __future__ import annotations

import os
import re
import textwrap

import pytest
import torch  # noqa: F401 - imported before any clock starts, as check does

from mi_exercise.runner import outcomes
from mi_exercise.runner.proxy import Clock, Submission, WorkerConfig, WorkerProcess
from mi_exercise.runner.warm import WarmPool, WarmWorkerProcess
from tests import test_bad_submissions as bad
from tests.conftest import SERVER_ON, run_cli
from tests.test_bad_submissions import fast_env  # noqa: F401 - a fixture used below

LEARNER = textwrap.dedent('''
    import os, signal, sys, time
    import torch

    SEEN = []

    def bump():
        SEEN.append(1)
        return len(SEEN)

    def modules():
        return sorted(m for m in sys.modules if m.startswith("learner_helper"))

    def load_helper():
        import learner_helper  # noqa: F401 - a module of the learner's own
        return True

    def segfault():
        os.kill(os.getpid(), signal.SIGSEGV)

    def hard_exit():
        os._exit(3)

    def soft_exit():
        sys.exit(4)

    def hang():
        while True:
            time.sleep(0.01)

    def hog():
        return torch.empty(30 * 1024**3 // 4)[:1]

    def limits():
        import resource
        return [resource.getrlimit(resource.RLIMIT_AS)[0], os.getpgid(0) == os.getpid(), os.getcwd()]

    def env(name):
        return os.environ.get(name, "")

    def shout():
        print("hello from the learner")
        return 1
''')


@pytest.fixture(scope="module")
def pool():
    p = WarmPool.start()
    assert p.wait_ready(), "the zygote did not start"
    yield p
    p.close()


@pytest.fixture
def learner(tmp_path):
    (tmp_path / "learner_helper.py").write_text("X = 1\n")
    path = tmp_path / "learner_mod.py"
    path.write_text(LEARNER)
    return path


def make(path, spawner, test_seconds=3.0):
    config = WorkerConfig(learner_file=path, module_name="learner_mod", device="cpu", memory_mb=2048)
    return Submission(config, Clock(test_seconds=test_seconds, check_seconds=60), spawner)


SPAWNERS = ["cold", "warm"]


def spawner_of(kind, pool):
    return WorkerProcess if kind == "cold" else pool


def test_each_check_starts_from_a_fresh_fork(pool, learner):
    forks = pool.forks
    for _ in range(3):
        sub = make(learner, pool)
        try:
            assert isinstance(sub._ready_worker(), WarmWorkerProcess)
            assert sub.bump() == 1 and sub.bump() == 2  # state lives within a check...
            assert sub.modules() == []
            assert sub.load_helper() is True and sub.modules() == ["learner_helper"]
        finally:
            sub.close()  # ...and never reaches the next one
    assert pool.forks == forks + 3
    assert pool.proc.poll() is None


def test_the_child_is_limited_and_alone(pool, learner):
    sub = make(learner, pool)
    try:
        as_limit, own_group, cwd = sub.limits()
        assert as_limit == 2048 << 20
        assert own_group, "the worker must lead its own process group"
        assert cwd == str(learner.parent)
        assert sub.env("MI_EXERCISE_CONTENT") == ""
        assert sub.shout() == 1
        assert "hello from the learner" in sub.take_output()
        assert sub.device == "cpu"
    finally:
        sub.close()


@pytest.mark.parametrize("name, problem, words", [
    ("segfault", outcomes.SubmissionCrashed, "SIGSEGV"),
    ("hard_exit", outcomes.SubmissionExited, "exit status 3"),
    ("soft_exit", outcomes.SubmissionExited, "sys.exit(4)"),
    ("hang", outcomes.SubmissionTimeout, "did not finish within"),
    ("hog", outcomes.SubmissionOutOfMemory, "memory"),
])
def test_ends_are_classified_as_with_the_cold_worker(pool, learner, name, problem, words):
    messages = {}
    for kind in SPAWNERS:
        sub = make(learner, spawner_of(kind, pool), test_seconds=1.0)
        try:
            with pytest.raises(problem) as info:
                getattr(sub, name)()
            messages[kind] = info.value.message
            assert words in info.value.message
            sub._clock.start_test()  # the next graded test, as the plugin does
            assert sub.bump() == 1, "a fresh worker replaces the dead one"
        finally:
            sub.close()
    assert messages["warm"] == messages["cold"]
    assert pool.proc.poll() is None, "the zygote must survive its child"
    sub = make(learner, pool)
    try:
        assert sub.bump() == 1
    finally:
        sub.close()


def test_killing_a_check_kills_the_whole_group(pool, learner, tmp_path):
    learner.write_text(LEARNER + textwrap.dedent('''
        def spawn_grandchild(path):
            import subprocess
            p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            open(path, "w").write(str(p.pid))
            while True:
                time.sleep(0.01)
    '''))
    pidfile = tmp_path / "grandchild.pid"
    sub = make(learner, pool, test_seconds=1.5)
    try:
        with pytest.raises(outcomes.SubmissionTimeout):
            sub.spawn_grandchild(str(pidfile))
    finally:
        sub.close()
    import os
    import time

    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split()[2] == "Z":
                    break
        except (OSError, ProcessLookupError):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the learner's own child outlived the check")


# -- the CLI through a running daemon: the red-team cases get the same verdicts --------------
@pytest.fixture
def warm_cli():
    started = []

    def cli(*args, **kwargs):
        kwargs["env"] = {**(kwargs.get("env") or {}), **SERVER_ON}  # the warm worker is the check server's
        result = run_cli(*args, **kwargs)
        if args[:1] == ("init",) and result.returncode == 0:
            ws = args[1]
            up = run_cli("worker", "start", "-C", ws, env=kwargs.get("env"))
            assert up.returncode == 0, up.stdout + up.stderr
            started.append((ws, kwargs.get("env")))
        if args[:1] == ("check",):
            status = run_cli("worker", "status", cwd=kwargs.get("cwd"), env=kwargs.get("env"))
            assert status.returncode == 0, status.stdout
            assert int(re.search(r"(\d+) workers forked", status.stdout).group(1)) > 0, status.stdout
        return result

    yield cli
    for ws, env in started:
        run_cli("worker", "stop", "-C", ws, env=env)


def test_misbehaviours_through_the_daemon(warm_cli, fast_env, tmp_path):  # noqa: F811
    bad.test_each_misbehaviour_is_classified_and_explained(warm_cli, fast_env, tmp_path)


@pytest.mark.parametrize("source, outcome, words", [
    ("while True:\n    pass\n", "timeout", "your file took longer than 4 s to import (a loop at module level?)"),
    ("import os\nos._exit(0)\n", "exited", "exit status 0"),
])
def test_bad_imports_through_the_daemon(warm_cli, fast_env, tmp_path, source, outcome, words):  # noqa: F811
    bad.test_a_file_that_cannot_be_imported(warm_cli, fast_env, tmp_path, source, outcome, words)


def test_forgery_and_environment_through_the_daemon(warm_cli, fast_env, tmp_path):  # noqa: F811
    bad.test_a_forged_reply_on_the_pipes_is_refused(warm_cli, fast_env, tmp_path / "a")
    bad.test_worker_environment_does_not_reveal_grading(warm_cli, fast_env, tmp_path / "b")
    bad.test_forging_a_pass_from_learner_code_does_not_work(warm_cli, fast_env, tmp_path / "c")


def test_a_sandboxed_zygote_socket_is_out_of_its_workers_reach(tmp_path):
    """The trusted side binds the zygote's socket and passes the listening descriptor in: the
    socket's folder is bound into no sandbox, so a worker can neither see it nor put its own
    socket where the next check connects."""
    from tests.test_sandbox import sandbox_works

    if not sandbox_works():
        pytest.skip("no sandbox here")
    from mi_exercise.sandbox import choose

    box, _ = choose("require")
    learner = tmp_path / "learner_mod.py"
    p = WarmPool.start(sandbox=box, readable=[tmp_path])
    folder = p.socket_path.parent
    learner.write_text(textwrap.dedent(f'''
        import os, socket

        def reach():
            seen = os.path.exists({str(folder)!r})
            try:
                s = socket.socket(socket.AF_UNIX)
                s.bind({str(p.socket_path)!r})
                planted = True
            except OSError:
                planted = False
            return [seen, planted]
    '''))
    try:
        assert p.wait_ready(), "the sandboxed zygote did not start"
        for _ in range(2):
            config = WorkerConfig(learner_file=learner, module_name="learner_mod", device="cpu", memory_mb=2048,
                                  sandbox=box.prefix(readable=[tmp_path]))
            sub = Submission(config, Clock(test_seconds=5, check_seconds=60), p)
            try:
                assert isinstance(sub._ready_worker(), WarmWorkerProcess)
                seen, planted = sub.reach()
                assert not seen, "a sandboxed worker can see the zygote's socket folder"
                assert not planted or not (tmp_path / p.socket_path.name).exists()
            finally:
                sub.close()
        assert p.forked == 2 and sorted(os.listdir(folder)) == ["zygote.sock"]
    finally:
        p.close()
