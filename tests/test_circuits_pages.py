"""The circuits chapter's pictures: drawn from the shipped circuits model's weights in numpy (no torch,
no TransformerLens at site-build time), of the kinds and sizes the pages describe, and the scatter
figure kind they use for eigenvalues."""

import subprocess
import sys

from mi_exercise.site_builder.pictures import figure_svg

CIRCUITS_SLUGS = ["factored-matrices", "qk-ov-circuits", "copying-scores"]


def test_scatter_draws_dots_not_lines():
    svg = figure_svg({"kind": "scatter", "title": "eigenvalues", "series": {"a": ([0.0, 1.0, 2.0], [1.0, -1.0, 0.5]),
                                                                           "b": ([0.5], [0.0])}})
    assert svg.count("<circle") == 4 and "<polyline" not in svg
    lines = figure_svg({"kind": "lines", "title": "t", "series": {"a": [1.0, 2.0, 3.0]}})
    assert "<polyline" in lines and "<circle" not in lines


def test_circuits_pictures_need_neither_torch_nor_transformerlens():
    code = ("import sys, json\n"
            "from mi_exercise.catalog.loader import load_catalog\n"
            "from mi_exercise.site_builder.pictures import exercise_pictures\n"
            "cat = load_catalog()\n"
            f"figs = {{s: exercise_pictures(cat.get(s), {{'workspace': None, 'learner_file': None, 'status': 'passed'}}) "
            f"for s in {CIRCUITS_SLUGS!r}}}\n"
            "print(json.dumps({s: [f['title'] for f in v] for s, v in figs.items()}))\n"
            "print('torch' in sys.modules, 'transformer_lens' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    titles, loaded = result.stdout.strip().splitlines()[-2:]
    assert loaded == "False False", result.stdout
    import json

    titles = json.loads(titles)
    assert titles["factored-matrices"][0].startswith("Singular values of each head's full QK circuit")
    assert titles["factored-matrices"][1].startswith("Eigenvalues of head 1.0's OV circuit: AB [128] and BA [16]")
    assert [t.split(":")[0] for t in titles["qk-ov-circuits"][:4]] == [
        "Head 0.0 (not a previous-token head)", "Head 0.1 (not a previous-token head)",
        "Head 0.2 (not a previous-token head)", "Head 0.3 (a previous-token head)"]
    assert titles["copying-scores"][0].startswith("Copying score")


def test_positional_picture_shows_the_previous_token_diagonal():
    from mi_exercise.site_builder.circuit_weights_figures import POSITIONS, positional_figure

    fig = positional_figure(0, 3)
    data = fig["data"]
    assert len(data) == POSITIONS == 40 and len(data[0]) == 40
    one_back = sum(data[i][i - 1] for i in range(1, 40)) / 39
    assert one_back > 0.9, one_back
    assert "Mean weight one position back: 0.92" in fig["caption"]
