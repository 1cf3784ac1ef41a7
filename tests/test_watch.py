"""`mi-exercise watch` driven end to end: a real process, a real workspace, real saves."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import copy_content, run_cli, solution_text

LEARNER = "00-foundations/tensor_basics.py"


@pytest.fixture
def two_exercise_env(tmp_path):
    """tensor-basics (with short limits) and a copy of it as a second exercise to move on to."""
    content = copy_content(tmp_path / "content", ["tensor-basics"])
    src = content / "exercises" / "foundations" / "tensor-basics"
    toml = src / "exercise.toml"
    toml.write_text(toml.read_text().replace("test_seconds = 10", "test_seconds = 3"))
    dst = content / "exercises" / "foundations" / "tensor-again"
    shutil.copytree(src, dst)
    text = (dst / "exercise.toml").read_text()
    text = text.replace('slug = "tensor-basics"', 'slug = "tensor-again"').replace("order = 1", "order = 2")
    (dst / "exercise.toml").write_text(text.replace('title = "Tensor basics"', 'title = "Tensor basics again"'))
    shutil.copytree(content / "graders" / "foundations" / "tensor-basics", content / "graders" / "foundations" / "tensor-again")
    return {"MI_EXERCISE_CONTENT": str(content)}


class Watcher:
    def __init__(self, ws, env):
        full_env = {**os.environ, **env, "COLUMNS": "200"}
        full_env.pop("PYTEST_CURRENT_TEST", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "mi_exercise", "watch"], cwd=ws, env=full_env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def until(self, pattern: str, timeout: float = 90) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("watch ended early:\n" + "".join(self.seen[-40:]))
            self.seen.append(line)
            m = re.search(pattern, line)
            if m:
                return m
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s:\n" + "".join(self.seen[-40:]))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def test_watch_rechecks_on_save_survives_bad_code_and_moves_on(two_exercise_env, tmp_path):
    env = two_exercise_env
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws), env=env).returncode == 0
    w = Watcher(ws, env)
    try:
        m = w.until(r"tensor-basics: Tensor basics\s+(\d+)/(\d+) passed .*check #1")
        assert m.group(1) == "0"
        total = int(m.group(2))
        w.until(r"first failure: .*\(error\)")
        w.until(r"not implemented yet")

        # A submission that crashes the worker, then one that hangs at import: watch stays up.
        (ws / LEARNER).write_text("import os\nos.kill(os.getpid(), 11)\n")
        w.until(r"check #2")
        w.until(r"\((crashed|error)\)")
        (ws / LEARNER).write_text("while True:\n    pass\n")
        w.until(r"check #3")
        w.until(r"\(timeout\)")
        w.until(r"took longer than 3 s to import")

        # One wrong function: the verdict names it.
        wrong = solution_text("foundations", "tensor-basics").replace(
            "return a[:, None] + b[None, :]", "return a[:, None] - b[None, :]")
        (ws / LEARNER).write_text(wrong)
        m = w.until(r"(\d+)/(\d+) passed .*check #4")
        assert int(m.group(1)) == total - 1
        w.until(r"first failure: test_outer_sum \(failed\)")

        # The right answer: passed, and watch moves on to the next exercise.
        (ws / LEARNER).write_text(solution_text("foundations", "tensor-basics"))
        m = w.until(r"(\d+)/(\d+) passed .*check #5")
        assert m.group(1) == m.group(2) == str(total)
        w.until(r"Next: tensor-again .*now watching 00-foundations/tensor_again\.py")
        w.until(r"^watching 00-foundations/tensor_again\.py and the workspace")  # the footer names the new file

        # Saving the next exercise's file checks it.
        (ws / "00-foundations" / "tensor_again.py").write_text(wrong)
        m = w.until(r"tensor-again: Tensor basics again\s+(\d+)/(\d+) passed .*check #6")
        assert int(m.group(1)) == total - 1
    finally:
        code = w.stop()
    rest = "".join(w.seen) + w.proc.stdout.read() if w.proc.stdout else ""
    assert code == 0, rest[-3000:]
    assert "Traceback" not in rest
    progress = run_cli("progress", "--json", cwd=ws, env=env)
    data = json.loads(progress.stdout)
    items = {e["slug"]: e for c in data["chapters"] for e in c["exercises"]}
    assert items["tensor-basics"]["attempts"] == 5 and items["tensor-basics"]["status"] == "passed"
    assert items["tensor-again"]["attempts"] == 1 and items["tensor-again"]["status"] == "in progress"

def test_watch_unknown_exercise_is_a_usage_error(workspace):
    result = run_cli("watch", "no-such-exercise", cwd=workspace)
    assert result.returncode == 2
    assert "unknown exercise 'no-such-exercise'" in result.stderr
