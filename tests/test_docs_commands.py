"""The commands README.md and docs/authoring.md show in ```bash blocks exist with the options
they use, and shipping a course as a folder works as written (issue 17, items 5 and 6)."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.conftest import REPO, copy_content, run_cli

DOCS = {name: (REPO / name).read_text() for name in ("README.md", "docs/authoring.md")}


def bash_lines(text: str) -> list[str]:
    blocks = re.findall(r"^\s*```bash\n(.*?)^\s*```", text, re.S | re.M)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def cli_calls() -> list[list[str]]:
    calls = []
    for text in DOCS.values():
        for line in bash_lines(text):
            for part in line.split("&&"):
                words = shlex.split(part.strip())
                if words and words[0] == "mi-exercise":
                    calls.append(words[1:])
    return calls


def test_the_docs_show_the_new_commands():
    joined = [" ".join(c) for c in cli_calls()]
    assert any(c.startswith("new ") and "--like" in c for c in joined)
    assert any(c.startswith("site build") and "--public" in c and "--no-hints" in c for c in joined)
    assert "MI_EXERCISE_CONTENT" in DOCS["docs/authoring.md"] and "pip wheel --no-deps -w dist ." in DOCS["README.md"]


@pytest.mark.parametrize("words", cli_calls(), ids=lambda w: " ".join(w)[:60])
def test_every_documented_option_exists(words):
    subcommand = words[:2] if words[0] in ("site", "worker") else words[:1]  # groups have subcommands
    help_text = run_cli(*subcommand, "--help").stdout
    assert "Usage:" in help_text, subcommand
    for option in (w.split("=")[0] for w in words if w.startswith("--")):
        assert option in help_text, f"`mi-exercise {' '.join(words)}`: {option} is not an option of {subcommand}"


def test_the_wheel_command_is_the_one_the_packaging_test_builds():
    packaging = (REPO / "tests" / "test_packaging.py").read_text()
    assert '"pip", "wheel", "--no-deps"' in packaging  # the documented `pip wheel --no-deps -w dist .`


def test_shipping_a_course_as_a_folder(tmp_path):
    course = copy_content(tmp_path / "course", ["tensor-basics"])
    env = {"MI_EXERCISE_CONTENT": str(course)}
    assert run_cli("init", str(tmp_path / "my-work"), env=env).returncode == 0
    assert sorted(p.name for p in (tmp_path / "my-work").rglob("*.py")) == ["tensor_basics.py"]
    # the course grows: init again adds the new stub and keeps the learner's edits
    mine = tmp_path / "my-work" / "00-foundations" / "tensor_basics.py"
    mine.write_text("# my work\n")
    extra = copy_content(tmp_path / "grown", ["tensor-basics", "einops-rearrange-reduce-repeat"])
    r = run_cli("init", str(tmp_path / "my-work"), env={"MI_EXERCISE_CONTENT": str(extra)})
    assert r.returncode == 0, r.stderr
    assert mine.read_text() == "# my work\n"
    assert (tmp_path / "my-work" / "00-foundations" / "einops_rearrange_reduce_repeat.py").is_file()
