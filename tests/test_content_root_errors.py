"""Errors about a missing exercise say which content root was searched (issue 17, item 6)."""

from __future__ import annotations

from conftest import REPO, copy_content, run_cli


def test_unknown_slug_names_the_content_root(tmp_path):
    r = run_cli("validate", "tensor-basic", cwd=tmp_path, env={"MI_EXERCISE_CONTENT": ""})
    assert r.returncode == 2
    assert f"unknown exercise 'tensor-basic' in the content root {REPO}" in r.stderr
    assert "set MI_EXERCISE_CONTENT to use another" in r.stderr and "Did you mean: tensor-basics" in r.stderr

    content = copy_content(tmp_path / "course", ["tensor-basics"])
    r = run_cli("validate", "einsum", cwd=tmp_path, env={"MI_EXERCISE_CONTENT": str(content)})
    assert r.returncode == 2
    assert f"unknown exercise 'einsum' in the content root {content} (set by MI_EXERCISE_CONTENT)" in r.stderr

    r = run_cli("grade", str(tmp_path), "--out", str(tmp_path / "out"), "--exercises", "einsum",
                env={"MI_EXERCISE_CONTENT": str(content)})
    assert r.returncode == 2 and f"in the content root {content} (set by MI_EXERCISE_CONTENT)" in r.stderr


def test_a_root_without_a_course_is_named(tmp_path):
    r = run_cli("list", cwd=tmp_path, env={"MI_EXERCISE_CONTENT": str(tmp_path / "nothing")})
    assert r.returncode == 2
    assert f"the content root {tmp_path / 'nothing'} (set by MI_EXERCISE_CONTENT)" in r.stderr
    assert "chapters.toml: file is missing" in r.stderr
