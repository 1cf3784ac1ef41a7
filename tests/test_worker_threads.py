"""exercise.toml's [limits] threads sets torch's intra-op threads in the worker (bench/threads.py
measured why training pins 1); a malformed value is a catalog error naming the field."""

from __future__ import annotations

import json

from tests.conftest import run_cli, solution_text

THREADS_TEST = '''
def test_zz_worker_threads(submission):
    assert submission.threads_now() == 1, f"the worker runs {submission.threads_now()} threads"
'''


def test_the_worker_uses_the_exercise_thread_limit(content, tmp_path):
    toml = content / "exercises" / "foundations" / "tensor-basics" / "exercise.toml"
    toml.write_text(toml.read_text().replace("[limits]\n", "[limits]\nthreads = 1\n"))
    (content / "graders" / "foundations" / "tensor-basics" / "test_zz_threads.py").write_text(THREADS_TEST)
    env = {"MI_EXERCISE_CONTENT": str(content)}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    (ws / "00-foundations" / "tensor_basics.py").write_text(
        solution_text("foundations", "tensor-basics") + "\n\ndef threads_now():\n    return torch.get_num_threads()\n")
    result = run_cli("check", "tensor-basics", "--json", cwd=ws, env=env)
    tests = {t["name"]: t for t in json.loads(result.stdout)["results"][0]["tests"]}
    assert tests["test_zz_worker_threads"]["outcome"] == "passed", tests["test_zz_worker_threads"]

    toml.write_text(toml.read_text().replace("threads = 1", "threads = 1.5"))
    bad = run_cli("list", env=env)
    assert bad.returncode == 2 and "limits.threads" in bad.stderr
