"""The catalog: the real content loads, and every kind of malformed metadata is a clear error."""

from __future__ import annotations

import pytest

from mi_exercise.catalog.loader import CatalogError, load_catalog
from tests.conftest import copy_content


def test_real_catalog_loads_in_track_order():
    catalog = load_catalog()
    slugs = [e.slug for e in catalog.exercises]
    assert slugs[0] == "tensor-basics"
    numbers = [catalog.chapter(e.chapter).number for e in catalog.exercises]
    assert numbers == sorted(numbers)
    for ex in catalog.exercises:
        assert ex.stub_path.is_file() and ex.solution_path.is_file() and ex.grader_files


def _toml(root, slug="tensor-basics"):
    return root / "exercises" / "foundations" / slug / "exercise.toml"


def _add_exercise(root, slug, extra=""):
    folder = root / "exercises" / "foundations" / slug
    folder.mkdir(parents=True)
    (folder / "exercise.toml").write_text(f'slug = "{slug}"\ntitle = "T"\nchapter = "foundations"\norder = 9\n{extra}')


@pytest.mark.parametrize("edit, field, words", [
    (lambda t: t.replace('title = "Tensor basics"\n', ""), "title", "required"),
    (lambda t: t.replace("order = 1", 'order = "first"'), "order", "must be a int"),
    (lambda t: t.replace("prerequisites = []", 'prerequisites = ["no-such-exercise"]'), "prerequisites", "unknown exercise"),
    (lambda t: t.replace('chapter = "foundations"', 'chapter = "nowhere"'), "chapter", "unknown chapter"),
    (lambda t: "colour = 3\n" + t, "colour", "unknown field"),
    (lambda t: t.replace("test_seconds = 10", "test_seconds = -1"), "limits.test_seconds", "positive"),
    (lambda t: t.replace('slug = "tensor-basics"', 'slug = "tensor-bases"'), "slug", "folder name"),
    (lambda t: t + "\n[[broken\n", None, "not valid TOML"),
])
def test_malformed_exercise_toml_names_file_and_field(tmp_path, edit, field, words):
    root = copy_content(tmp_path / "c", ["tensor-basics"])
    path = _toml(root)
    path.write_text(edit(path.read_text()))
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    assert info.value.path == path
    assert info.value.field == field
    assert words in str(info.value)


def test_prerequisite_cycle_is_reported(tmp_path):
    root = copy_content(tmp_path / "c", ["tensor-basics"])
    _add_exercise(root, "alpha", 'prerequisites = ["beta"]\n')
    _add_exercise(root, "beta", 'prerequisites = ["alpha"]\n')
    with pytest.raises(CatalogError, match="cycle: .*alpha.*beta|cycle: .*beta.*alpha"):
        load_catalog(root)


def test_duplicate_slug_is_reported(tmp_path):
    root = copy_content(tmp_path / "c", ["tensor-basics"])
    other = root / "exercises" / "gpt2" / "tensor-basics"
    other.mkdir(parents=True)
    (other / "exercise.toml").write_text('slug = "tensor-basics"\ntitle = "T"\nchapter = "gpt2"\norder = 1\n')
    with pytest.raises(CatalogError, match="duplicate slug"):
        load_catalog(root)


def test_malformed_catalog_gives_exit_2_through_the_cli(tmp_path, cli, workspace):
    root = copy_content(tmp_path / "c", ["tensor-basics"])
    _toml(root).write_text("slug = [")
    result = cli("check", "tensor-basics", cwd=workspace, env={"MI_EXERCISE_CONTENT": str(root)})
    assert result.returncode == 2
    assert "exercise.toml" in result.stderr and "not valid TOML" in result.stderr
    assert "Traceback" not in result.stderr
