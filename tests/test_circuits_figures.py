"""The circuits pages' pictures are computed in numpy (no torch import per site build); they must equal
the exercises' reference solutions run on the TransformerBridge: composition scores, the random
baseline, activation patching by residual position and by head, and the capstone's view of the
shipped model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import solution_module


@pytest.fixture(scope="module")
def model():
    from mi_exercise.models.induction import load_induction_model

    return load_induction_model()


def test_composition_matrices_equal_the_reference(model):
    from mi_exercise.site_builder.circuits_figures import composition_matrix, random_baseline

    ref = solution_module("circuits", "composition-scores")
    W_QK, W_OV = ref.qk_ov_matrices(model)
    for kind in "qkv":
        np.testing.assert_allclose(composition_matrix(kind), ref.composition_scores(W_QK, W_OV, kind, 0, 1).numpy(),
                                   rtol=1e-4, atol=1e-5)
    assert abs(random_baseline() - ref.random_baseline(64, 16, 200, 0)) < 0.005


def test_patching_maps_equal_the_reference(model):
    from mi_exercise.site_builder.circuits_figures import patching_maps, patching_setup

    ref = solution_module("circuits", "activation-patching")
    s = patching_setup(seq_len=5, k=1, batch=2, seed=1)
    maps = patching_maps(s)
    args = [torch.from_numpy(s[n]) for n in ("clean", "corrupted")] + [s["pos"]] + \
           [torch.from_numpy(s[n]) for n in ("correct", "wrong")]
    np.testing.assert_allclose(maps["residual"], ref.residual_patching(model, *args).numpy(), atol=2e-3)
    np.testing.assert_allclose(maps["heads"], ref.head_patching(model, *args).numpy(), atol=2e-3)
    assert maps["residual"][0, 2 + s["k"]] > 0.99 and maps["residual"][-1, s["pos"]] > 0.99


def test_capstone_roles_are_the_reference_find_circuit():
    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.models.induction import load_shipped_model
    from mi_exercise.site_builder.pictures import exercise_pictures

    ex = load_catalog().get("reverse-engineer-induction")
    found = solution_module("circuits", "reverse-engineer-induction").find_circuit(load_shipped_model("attn-only-circuits"))
    figures = exercise_pictures(ex, {"workspace": None, "learner_file": None, "status": "not started", "learner_results": {}})
    import json
    import re

    assert figures[1]["title"] == "Head roles of attn-only-circuits: 1 previous-token head, 2 induction head"
    payload = json.loads(re.search(r'class="mi-viewer-data">(.*?)</script>', figures[1]["svg"]).group(1))
    roles = payload["items"][0]["data"]
    assert sorted([l, h] for l, row in enumerate(roles) for h, v in enumerate(row) if v == 1.0) == sorted(found["previous_token_heads"])
    assert sorted([l, h] for l, row in enumerate(roles) for h, v in enumerate(row) if v == 2.0) == sorted(found["induction_heads"])
