"""TransformerLens-style hooks that edit the activation in place and return None are accepted in
head-ablation's run_with_ablation (the page and hint 3 say so), through the real CLI."""

from __future__ import annotations

import json

import pytest

from tests.conftest import solution_text

IN_PLACE = '''

def run_with_ablation(model, tokens, heads, means=None):
    by_layer = {}
    for layer, head in heads:
        by_layer.setdefault(int(layer), []).append(int(head))

    def ablate(z, hook):  # edits the forward pass's own activation, returns None
        for head in by_layer[hook.layer()]:
            z[:, :, head] = 0 if means is None else means[hook.layer()][head]

    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=[(f"blocks.{l}.attn.hook_z", ablate) for l in sorted(by_layer)])
'''


@pytest.mark.slow
def test_an_in_place_hook_returning_none_passes(cli, workspace):
    learner = next(workspace.glob("*transformerlens/head_ablation.py"))
    learner.write_text(solution_text("transformerlens", "head-ablation") + IN_PLACE)
    result = cli("check", "head-ablation", "--json", cwd=workspace, timeout=600)
    data = json.loads(result.stdout)["results"][0]
    assert result.returncode == 0 and data["passed"], [(t["name"], t["message"][:300]) for t in data["tests"] if t["outcome"] != "passed"]
