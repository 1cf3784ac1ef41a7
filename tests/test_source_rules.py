"""Stated rules ("no torch.linalg.qr") are checked from the learner's source on the trusted side,
through aliases and imports; and the graders that state them fail a file that breaks them."""

from __future__ import annotations

import json

import pytest

from mi_exercise.feedback.source_rules import find_uses, method_call_sites
from tests.conftest import run_cli, solution_text

QR = ["torch.linalg.qr", "torch.qr", "torch.Tensor.qr"]

BREAKS = {
    "plain": "import torch\nq, r = torch.linalg.qr(a)",
    "module alias": "import torch.linalg as la\nq, r = la.qr(a)",
    "from import as": "from torch.linalg import qr as q\nq(a)",
    "submodule from import": "from torch import linalg\nlinalg.qr(a)",
    "star import": "from torch.linalg import *\nqr(a)",
    "assigned": "import torch\nf = torch.linalg\ng = f.qr\ng(a)",
    "getattr literal": "import torch\ngetattr(torch.linalg, 'qr')(a)",
    "getattr computed": "import torch\ngetattr(torch.linalg, 'q' + 'r')(a)",
    "__import__": "__import__('torch').linalg.qr(a)",
    "import_module": "import importlib\nimportlib.import_module('torch.linalg').qr(a)",
    "computed import": "m = __import__('tor' + 'ch')\nm.linalg.qr(a)",
    "method": "import torch\nq, r = a.qr()",
    "Tensor method": "import torch\ntorch.Tensor.qr(a)",
    "deprecated torch.qr": "import torch as t\nt.qr(a)",
    "eval": "eval('torch.linalg.qr(a)')",
    "vars": "import torch\nvars(torch.linalg)['qr'](a)",
    "__dict__": "import torch\ntorch.linalg.__dict__['qr'](a)",
    "in a function": "import torch\ndef helper(a):\n    return torch.linalg.qr(a)",
}

KEEPS = {
    "other linalg": "import torch\nq = torch.linalg.svd(a)\nn = torch.linalg.norm(a)",
    "own qr name": "def quarter(x):\n    return x / 4\nquarter(2)",
    "a string mentioning it": "doc = 'do not use torch.linalg.qr'",
    "a comment": "import torch\n# torch.linalg.qr would be too easy\nx = torch.zeros(3)",
}


@pytest.mark.parametrize("label", sorted(BREAKS))
def test_every_way_of_reaching_a_forbidden_call_is_found(label):
    uses = find_uses(BREAKS[label], QR, methods=["qr"])
    assert uses, label
    assert all(u.line >= 1 for u in uses)


@pytest.mark.parametrize("label", sorted(KEEPS))
def test_allowed_code_breaks_no_rule(label):
    assert find_uses(KEEPS[label], QR, methods=["qr"]) == []


def test_a_sibling_module_the_file_imports_is_read_too(tmp_path):
    (tmp_path / "helpers.py").write_text("import torch\n\ndef orth(a):\n    return torch.linalg.qr(a)[0]\n")
    learner = tmp_path / "linear_algebra.py"
    learner.write_text("from helpers import orth\n")
    uses = find_uses(learner.read_text(), QR, path=learner)
    assert [(u.file, u.line, u.what) for u in uses] == [("helpers.py", 4, "torch.linalg.qr")]


def test_a_forbidden_prefix_covers_everything_under_it():
    uses = find_uses("from torch import autograd\ng = autograd.grad(y, x)", ["torch.autograd"])
    assert [(u.what, u.line) for u in uses] == [("torch.autograd", 1), ("torch.autograd.grad", 2)]  # import, use
    assert str(uses[1]) == "`autograd.grad` (that is torch.autograd.grad) at line 2"


def test_within_holds_only_the_named_functions_and_their_helpers_to_the_rule():
    src = ("import torch\nfrom torch.linalg import qr\n\ndef project(a):\n    return qr(a)[0]\n\n"
           "def _orth(a):\n    return torch.linalg.qr(a)[0]\n\ndef gram_schmidt(a):\n    return _orth(a)\n")
    assert [u.line for u in find_uses(src, QR, within=["gram_schmidt"])] == [8]  # via its helper, not project
    assert find_uses(src.replace("return _orth(a)", "return a"), QR, within=["gram_schmidt"]) == []
    assert [u.line for u in find_uses("import torch\ngram_schmidt = torch.linalg.qr\n", QR, within=["gram_schmidt"])] == [2]


def test_method_call_sites_say_whether_they_are_in_a_loop():
    src = "out = model.run_with_hooks(t)\nfor l in range(3):\n    model.run_with_hooks(t)\n[getattr(m, 'run_with_hooks')(t) for _ in x]"
    assert [(s.line, s.in_loop) for s in method_call_sites(src, "run_with_hooks")] == [(1, False), (3, True), (4, True)]
    # within: the last definition wins (a mutant or alternative composed after the solution)
    two = "def f(m):\n    return m.run_with_hooks(1)\n\ndef f(m):\n    return [m.run_with_hooks(i) for i in x]\n"
    assert [(s.line, s.in_loop) for s in method_call_sites(two, "run_with_hooks", within=["f"])] == [(5, True)]


RULE_BREAKERS = [
    ("linear-algebra", "foundations", "linear_algebra.py", "test_gram_schmidt_does_not_use_qr",
     "def gram_schmidt(a):\n    import torch.linalg as la\n    q, r = la.qr(a)\n    return q * torch.sign(torch.diagonal(r))\n",
     "la.qr"),
    ("backprop", "foundations", "backprop.py", "test_no_autograd",
     "from torch import autograd as ag\n\ndef tanh_backward(x, grad_out):\n    x = x.detach().requires_grad_()\n"
     "    return ag.grad(torch.tanh(x), x, grad_out)[0]\n", "ag.grad"),
]


@pytest.mark.parametrize("slug, chapter, module, test, override, named", RULE_BREAKERS, ids=[r[0] for r in RULE_BREAKERS])
def test_the_graders_fail_a_file_that_breaks_its_rule(workspace, slug, chapter, module, test, override, named):
    folder = next(p for p in workspace.iterdir() if p.name.endswith(chapter))
    (folder / module).write_text(solution_text(chapter, slug) + "\n\n" + override)
    result = run_cli("check", slug, "--json", cwd=workspace)
    tests = {t["name"]: t for t in json.loads(result.stdout)["results"][0]["tests"]}
    assert result.returncode == 1
    assert tests[test]["outcome"] == "failed" and f"`{named}`" in tests[test]["message"], tests[test]
