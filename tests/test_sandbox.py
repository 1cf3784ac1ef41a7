"""`--sandbox`: learner code under bubblewrap cannot reach the network, read the graders or
write outside its own temp folder; without bwrap the flag refuses to grade at all."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

SOLUTION = (REPO / "graders" / "foundations" / "tensor-basics" / "solution.py").read_text()
LAYOUT = Path("00-foundations") / "tensor_basics.py"


def bwrap_works() -> bool:
    exe = shutil.which("bwrap")
    return bool(exe) and subprocess.run([exe, "--ro-bind", "/", "/", "--unshare-net", "--", "true"],
                                        capture_output=True).returncode == 0


needs_bwrap = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap (bwrap) is not usable here")


def attacker(solution_path: Path, port: int) -> str:
    """A correct solution whose first three functions each try an attack first and answer
    wrongly when the attack succeeds: a passed test means the attack was refused."""
    source = SOLUTION
    attacks = {
        "arange_grid": f"open({str(solution_path)!r}).read()",
        "diag_matrix": f"__import__('socket').create_connection(('127.0.0.1', {port}), timeout=2).close()",
        "every_other_row": "open(__import__('os').path.join(__import__('os').path.dirname(__file__), 'planted.txt'), 'w').write('x')",
    }
    for name, attack in attacks.items():
        head = f"def {name}("
        start = source.index(head)
        body = source.index(":\n", start) + 2  # after the signature line
        guard = (f"    try:\n        {attack}\n        _attack_worked = True\n"
                 f"    except Exception:\n        _attack_worked = False\n"
                 f"    if _attack_worked:\n        return None\n")
        source = source[:body] + guard + source[body:]
    return source


@pytest.fixture
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    yield srv.getsockname()[1]
    srv.close()


def outcomes_of(result) -> dict:
    return {t["name"]: t for t in json.loads(result.stdout)["results"][0]["tests"]}


@needs_bwrap
@pytest.mark.slow
def test_check_sandbox_refuses_network_grader_reads_and_writes(content, tmp_path, listener):
    env = {"MI_EXERCISE_CONTENT": str(content)}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    solution = content / "graders" / "foundations" / "tensor-basics" / "solution.py"
    (ws / LAYOUT).write_text(attacker(solution, listener))
    attacked = ["test_arange_grid", "test_diag_matrix", "test_every_other_row"]

    # control: without the sandbox every attack works, so those tests fail
    plain = outcomes_of(run_cli("check", "tensor-basics", "--json", cwd=ws, env=env))
    assert [plain[n]["outcome"] for n in attacked] == ["failed"] * 3
    planted = ws / LAYOUT.parent / "planted.txt"
    assert planted.exists()
    planted.unlink()

    boxed = run_cli("check", "tensor-basics", "--json", "--sandbox", cwd=ws, env=env)
    tests = outcomes_of(boxed)
    assert [tests[n]["outcome"] for n in attacked] == ["passed"] * 3, tests
    assert boxed.returncode == 0 and all(t["outcome"] == "passed" for t in tests.values())
    assert not planted.exists()


@needs_bwrap
@pytest.mark.slow
def test_grade_sandbox_hides_graders_and_other_submissions(content, tmp_path, listener):
    env = {"MI_EXERCISE_CONTENT": str(content)}
    solution = content / "graders" / "foundations" / "tensor-basics" / "solution.py"
    sub = tmp_path / "class" / "mallory"
    (sub / LAYOUT).parent.mkdir(parents=True)
    (sub / LAYOUT).write_text(attacker(solution, listener))
    out = tmp_path / "out"
    result = run_cli("grade", str(sub), "--out", str(out), "--sandbox", env=env)
    assert result.returncode == 0, result.stderr
    rec = json.loads((out / "submissions" / "mallory" / "result.json").read_text())
    assert rec["tests_passed"] == rec["tests_total"] == 11, [t for t in rec["exercises"][0]["tests"] if not t["passed"]]
    assert not (sub / LAYOUT.parent / "planted.txt").exists()


def test_sandbox_without_bwrap_refuses_to_grade(content, tmp_path):
    env = {"MI_EXERCISE_CONTENT": str(content), "PATH": str(Path(sys.executable).parent)}
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    (ws / LAYOUT).write_text(SOLUTION)
    check = run_cli("check", "tensor-basics", "--sandbox", cwd=ws, env=env)
    assert check.returncode == 2 and "bubblewrap" in check.stderr and "never falls back" in check.stderr
    grade = run_cli("grade", str(ws), "--out", str(tmp_path / "out"), "--sandbox", env=env)
    assert grade.returncode == 2 and "bubblewrap" in grade.stderr
    assert not (tmp_path / "out" / "submissions").exists()  # nothing was graded
    # the same check without the flag works: the refusal is about the sandbox only
    assert run_cli("check", "tensor-basics", cwd=ws, env=env).returncode == 0
