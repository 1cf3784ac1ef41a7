"""The `shipped_model` fixture (issue 17, item 5): the worker loads the shipped model with
mi-exercise's own loader, so a correct learner file passes without importing it."""

from __future__ import annotations

from conftest import REPO

from mi_exercise.catalog.loader import load_catalog
from mi_exercise.runner.check import run_check


def test_a_correct_file_without_the_model_import_passes(tmp_path):
    solution = (REPO / "graders/transformerlens/logit-attribution/solution.py").read_text()
    assert "load_induction_model" not in solution
    learner = tmp_path / "logit_attribution.py"
    # the import a learner may delete as unused is gone, and the name even means something else
    learner.write_text(solution + "\nload_induction_model = None\n")
    ex = load_catalog(REPO).get("logit-attribution")
    result = run_check(ex, learner, device="cpu")
    assert result.passed, [(t.name, t.outcome.value, t.message[:300]) for t in result.tests]
    assert len(result.tests) >= 5
