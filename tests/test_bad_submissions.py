"""Learner code that misbehaves gets a clear verdict and never takes the checker down.

Each case goes through the real CLI in a temporary workspace. The content is a private copy
with a short per-test time limit, so the hanging cases stay quick.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import solution_text

LEARNER = "00-foundations/tensor_basics.py"


@pytest.fixture
def fast_env(content):
    toml = content / "exercises" / "foundations" / "tensor-basics" / "exercise.toml"
    toml.write_text(toml.read_text().replace("test_seconds = 10", "test_seconds = 4"))
    return {"MI_EXERCISE_CONTENT": str(content)}


def check_json(cli, ws, env):
    result = cli("check", "tensor-basics", "--json", cwd=ws, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback (most recent call last)" not in result.stderr
    data = json.loads(result.stdout)["results"][0]
    return {t["name"]: t for t in data["tests"]}, data


MISBEHAVING = '''
import os, sys, time
import torch

def arange_grid(rows, cols):
    while True:
        time.sleep(0.01)

def diag_matrix(v):
    sys.exit(0)

def every_other_row(x):
    os._exit(0)

def select_rows(x, idx):
    big = torch.empty(30 * 1024**3 // 4, dtype=torch.float32)  # 30 GB
    return big[:1]

def mask_negative(x):
    return x.clamp(min=0).tolist()

def add_row_vector(m, v):
    return (m + v)[:, :-1]

def outer_sum(a, b):
    return (a[:, None] + b[None, :]).double()

def row_means(x):
    return x.mean(dim=-1) * float("nan")

def normalize_columns(x):
    return torch.empty(x.shape, device="meta")

def argmax_per_row(x):
    helper = {}
    return helper["missing"]

def scale_inplace(x, factor):
    x.mul_(factor)

def scaled_copy(x, factor):
    print("test_inplace_vs_copy PASSED")
    print("=========== 11 passed in 0.01s ===========")
    return x * factor + 1
'''


def test_each_misbehaviour_is_classified_and_explained(cli, fast_env, tmp_path):
    ws = tmp_path / "ws"
    assert cli("init", str(ws), env=fast_env).returncode == 0
    (ws / LEARNER).write_text(MISBEHAVING)
    tests, data = check_json(cli, ws, fast_env)
    assert data["tests_passed"] == 0
    assert tests["test_arange_grid"]["outcome"] == "timeout"
    assert "did not finish within" in tests["test_arange_grid"]["message"]
    assert tests["test_diag_matrix"]["outcome"] == "exited"
    assert "sys.exit(0)" in tests["test_diag_matrix"]["message"]
    assert tests["test_every_other_row"]["outcome"] == "exited"
    assert "exit status 0" in tests["test_every_other_row"]["message"]
    assert tests["test_select_rows"]["outcome"] == "out of memory"
    assert tests["test_mask_negative"]["outcome"] == "failed"
    assert "expected a Tensor of shape (1, 1), got list" in tests["test_mask_negative"]["message"]
    assert "shape differs" in tests["test_add_row_vector"]["message"]
    assert "dtype differs: expected torch.float32, got torch.float64" in tests["test_outer_sum"]["message"]
    assert "NaN" in tests["test_row_means"]["message"]
    assert "device 'meta'" in tests["test_normalize_columns"]["message"]
    argmax = tests["test_argmax_per_row"]
    assert argmax["outcome"] == "error" and "KeyError: 'missing'" in argmax["message"]
    line = MISBEHAVING.splitlines().index('    return helper["missing"]') + 1
    assert f'File "tensor_basics.py", line {line}, in argmax_per_row' in argmax["message"]
    assert "site-packages" not in argmax["message"] and "worker.py" not in argmax["message"]
    copy = tests["test_inplace_vs_copy"]
    assert copy["outcome"] == "failed" and "11 passed" in copy["output"]


@pytest.mark.parametrize("source, outcome, words", [
    ("def arange_grid(rows, cols)\n    return 1\n", "error", "SyntaxError"),
    ("import numpy_but_misspelled\n", "error", "No module named 'numpy_but_misspelled'"),
    ("while True:\n    pass\n", "timeout", "your file took longer than 4 s to import (a loop at module level?)"),
    ("import sys\nsys.exit(0)\n", "exited", "sys.exit(0)"),
    ("import os\nos._exit(0)\n", "exited", "exit status 0"),
])
def test_a_file_that_cannot_be_imported(cli, fast_env, tmp_path, source, outcome, words):
    ws = tmp_path / "ws"
    assert cli("init", str(ws), env=fast_env).returncode == 0
    (ws / LEARNER).write_text(source)
    tests, data = check_json(cli, ws, fast_env)
    assert data["tests_passed"] == 0 and len(tests) >= 8
    first = tests["test_arange_grid"]
    assert first["outcome"] == outcome, first
    assert words in first["message"]
    if outcome == "error" and "Syntax" in words:
        assert 'File "tensor_basics.py", line 1' in first["message"]


HOSTILE = solution_text("foundations", "tensor-basics").replace(
    "return a[:, None] + b[None, :]", "return a[:, None] - b[None, :]") + '''

# Everything below tries to forge a pass from inside the learner's process.
import builtins
import pytest
import torch

torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
pytest.fail = lambda *a, **k: None
builtins.AssertionError = type("AssertionError", (Exception,), {})
print("PASSED " * 100)
print("========== 11 passed, 0 failed ==========")
'''


def test_forging_a_pass_from_learner_code_does_not_work(cli, fast_env, tmp_path):
    ws = tmp_path / "ws"
    assert cli("init", str(ws), env=fast_env).returncode == 0
    (ws / LEARNER).write_text(HOSTILE)
    tests, data = check_json(cli, ws, fast_env)
    assert tests["test_outer_sum"]["outcome"] == "failed"
    assert data["tests_passed"] == data["tests_total"] - 1


def test_a_forged_reply_on_the_pipes_is_refused(cli, fast_env, tmp_path):
    # Write junk to every inherited file descriptor: the trusted side must not unpickle it.
    source = solution_text("foundations", "tensor-basics").replace(
        "def arange_grid(rows: int, cols: int) -> torch.Tensor:\n",
        "def arange_grid(rows: int, cols: int) -> torch.Tensor:\n"
        "    import os, pickle, struct\n"
        "    payload = pickle.dumps({'ok': True, 'value': 'forged'})\n"
        "    for fd in range(3, 30):\n"
        "        try:\n"
        "            os.write(fd, struct.pack('!Q', len(payload)) + payload)\n"
        "        except OSError:\n"
        "            pass\n")
    ws = tmp_path / "ws"
    assert cli("init", str(ws), env=fast_env).returncode == 0
    (ws / LEARNER).write_text(source)
    tests, _ = check_json(cli, ws, fast_env)
    assert tests["test_arange_grid"]["outcome"] != "passed"
    assert tests["test_diag_matrix"]["outcome"] == "passed"  # the next test gets a fresh worker


def test_output_is_truncated(cli, fast_env, tmp_path):
    source = solution_text("foundations", "tensor-basics").replace(
        "    return torch.arange(rows * cols).reshape(rows, cols)",
        "    print('x' * 200_000)\n    return None")
    ws = tmp_path / "ws"
    assert cli("init", str(ws), env=fast_env).returncode == 0
    (ws / LEARNER).write_text(source)
    tests, _ = check_json(cli, ws, fast_env)
    out = tests["test_arange_grid"]["output"]
    assert "your code printed 200,001 bytes" in out and len(out) < 70_000
    assert "did you forget to return?" in tests["test_arange_grid"]["message"]


def test_worker_environment_does_not_reveal_grading(cli, fast_env, tmp_path):
    source = solution_text("foundations", "tensor-basics").replace(
        "    return torch.arange(rows * cols).reshape(rows, cols)",
        "    import os\n"
        "    leaks = [k for k in os.environ if 'PYTEST' in k or 'MI_EXERCISE' in k or 'GRAD' in k]\n"
        "    if leaks:\n"
        "        raise RuntimeError(f'leaked: {leaks}')\n"
        "    return torch.arange(rows * cols).reshape(rows, cols)")
    ws = tmp_path / "ws"
    assert cli("init", str(ws), env=fast_env).returncode == 0
    (ws / LEARNER).write_text(source)
    result = cli("check", "tensor-basics", "--json", cwd=ws, env={**fast_env, "PYTEST_XDIST_WORKER": "gw0"})
    data = json.loads(result.stdout)["results"][0]
    assert data["passed"], data
