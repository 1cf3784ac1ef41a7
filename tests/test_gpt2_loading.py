"""Loading a GPT-2-format Hugging Face checkpoint offline (the `--model gpt2` path), tested on a tiny
checkpoint this test writes itself with save_pretrained; and the clear message when weights are absent."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from mi_exercise.models.gpt2_pretrained import PretrainedUnavailable, load_pretrained  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-gpt2-hf")
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_embd=32, n_head=4, n_layer=2, n_positions=16, vocab_size=53)
    model = transformers.GPT2LMHeadModel(config).eval()
    model.save_pretrained(path)
    return path, model


def test_loads_checkpoint_into_learner_layout(checkpoint):
    path, hf_model = checkpoint
    cfg, sd, bridge = load_pretrained(str(path))
    assert cfg == {"d_model": 32, "n_heads": 4, "d_head": 8, "d_mlp": 128, "n_layers": 2, "n_ctx": 16,
                   "d_vocab": 53, "layer_norm_eps": 1e-5, "init_range": 0.02}
    assert sd["blocks.1.attn.W_Q"].shape == (4, 32, 8)
    assert sd["blocks.1.attn.W_O"].shape == (4, 8, 32)
    assert sd["blocks.0.mlp.W_in"].shape == (32, 128)
    # GPT-2's checkpoints tie the unembedding to the embedding
    torch.testing.assert_close(sd["unembed.W_U"], sd["embed.W_E"].T)
    tokens = torch.randint(0, 53, (2, 11), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = hf_model(tokens).logits
        torch.testing.assert_close(bridge(tokens), expected, rtol=1e-4, atol=1e-5)
    # the learner-format weights in the reference solution's model give Hugging Face's logits
    spec = importlib.util.spec_from_file_location("sol_model", ROOT / "graders" / "gpt2" / "gpt2-model" / "solution.py")
    sol = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sol)
    model = sol.GPT2(cfg)
    model.load_state_dict(sd)
    with torch.no_grad():
        torch.testing.assert_close(model(tokens), expected, rtol=1e-4, atol=1e-5)


def test_absent_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache" / "hub"))
    with pytest.raises(PretrainedUnavailable) as info:
        load_pretrained("gpt2-no-such-model-here")
    message = str(info.value)
    assert "not in the Hugging Face cache" in message and "from_pretrained('gpt2-no-such-model-here')" in message


def test_folder_without_checkpoint(tmp_path):
    with pytest.raises(PretrainedUnavailable, match="no config.json"):
        load_pretrained(str(tmp_path))


# -- `mi-exercise check --model gpt2` in the TransformerLens chapter --------------------------------
# GPT-2 small cannot be downloaded here, so these tests put a small random GPT-2 (8 layers of 12 heads,
# so that heads 4.11 and 7.10 exist) into a Hugging Face cache of their own under the name 'gpt2'. Its
# heads are not induction or previous-token heads, so a check against GPT-2 small's known heads must
# fail and name them: proof that the grader loaded this model on both sides and compared.
def write_fake_gpt2_cache(home: Path) -> Path:
    snapshot = home / "hub" / "models--gpt2" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("0" * 40)
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_embd=96, n_head=12, n_layer=8, n_positions=128, vocab_size=1000,
                                     bos_token_id=999, eos_token_id=999)
    transformers.GPT2LMHeadModel(config).save_pretrained(snapshot)
    return home


@pytest.fixture(scope="module")
def gpt2_home(tmp_path_factory):
    return write_fake_gpt2_cache(tmp_path_factory.mktemp("hf-home"))


def run_with_hf_home(home: Path, code: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HOME": str(home), "HF_HUB_CACHE": str(home / "hub"), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    env.pop("PYTEST_CURRENT_TEST", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=str(home))


def test_load_gpt2_reads_the_local_cache_only(gpt2_home, tmp_path):
    code = ("from mi_exercise.models.induction import gpt2_available, gpt2_bos, load_gpt2, ModelUnavailable\n"
            "print(gpt2_available())\n"
            "try:\n    m = load_gpt2()\nexcept ModelUnavailable as exc:\n    print('UNAVAILABLE', exc)\n"
            "else:\n    print(m.cfg.n_layers, m.cfg.n_heads, gpt2_bos(m), "
            "sum(n.endswith('attn.hook_pattern') for n in m.hook_dict))\n")
    lines = run_with_hf_home(gpt2_home, code).stdout.strip().splitlines()
    assert lines[-2:] == ["True", "8 12 999 8"], lines
    empty = tmp_path / "empty"
    (empty / "hub").mkdir(parents=True)
    out = run_with_hf_home(empty, code).stdout
    assert out.startswith("False\nUNAVAILABLE"), out
    assert "not in the Hugging Face cache" in out and "from_pretrained('gpt2')" in out


CHECKS = r'''
import json, sys
from pathlib import Path
from mi_exercise.catalog.loader import load_catalog
from mi_exercise.runner.check import run_check
from mi_exercise.validate import run_override
catalog = load_catalog()
out = {}
for label, slug, path in json.loads(sys.argv[1]):
    ex = catalog.get(slug)
    mutant = next((p for p in ex.mutant_paths if p.stem == path), None)
    if mutant is not None:  # an override: graded as solution + mutant
        r = run_override(ex, mutant, device="cpu", options={"model": "gpt2"})
    else:
        r = run_check(ex, ex.solution_path if path == "solution" else Path(path), device="cpu", options={"model": "gpt2"})
    out[label] = {t.name: [t.outcome.value, t.message] for t in r.tests}
print("RESULTS" + json.dumps(out))
'''


def run_checks(home: Path, checks: list) -> dict:
    result = run_with_hf_home(home, CHECKS.replace("sys.argv[1]", repr(json.dumps(checks))))
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULTS")]
    assert lines, result.stdout[-2000:] + result.stderr[-3000:]
    return json.loads(lines[-1][len("RESULTS"):])


@pytest.mark.slow
def test_check_model_gpt2_grades_against_gpt2_small_heads(gpt2_home, tmp_path):
    induction_test = "test_known_heads_of_a_trained_model"
    previous_test = "test_known_previous_token_heads_of_a_trained_model"
    no_import = tmp_path / "induction_scores.py"
    no_import.write_text((ROOT / "graders" / "transformerlens" / "induction-scores" / "solution.py").read_text()
                         .replace("import load_gpt2, load_induction_model", "import load_induction_model"))
    assert "load_gpt2" not in no_import.read_text()
    swapped = tmp_path / "swapped" / "induction_scores.py"
    swapped.parent.mkdir()
    swapped.write_text(no_import.read_text().replace("import load_induction_model",
                                                      "import load_induction_model, load_induction_model as load_gpt2"))
    results = run_checks(gpt2_home, [
        ["induction solution", "induction-scores", "solution"],
        ["induction wrong axis", "induction-scores", "diagonal_wrong_axis"],
        ["induction shipped model as gpt2", "induction-scores", str(swapped)],
        ["induction without load_gpt2", "induction-scores", str(no_import)],
        ["previous solution", "attention-head-detectors", "solution"],
    ])
    # the reference solution: every other test passes; the GPT-2 test ran on the fake GPT-2 (scores equal
    # to the reference's through both paths) and fails naming GPT-2 small's induction heads it did not find
    solution = results["induction solution"]
    assert all(o == "passed" for name, (o, _) in solution.items() if name != induction_test), solution
    outcome, message = solution[induction_test]
    assert outcome == "failed" and "known induction heads 5.1, 5.5, 6.9, 7.2, 7.10 were not all found" in message, message
    assert "do not behave like GPT-2 small's" in message
    # the learner's scores of GPT-2's cached patterns are compared with the reference's
    outcome, message = results["induction wrong axis"][induction_test]
    assert outcome == "failed" and message.startswith(
        "induction_scores_from_pattern(GPT-2 small's layer-0 pattern [2, 12, 101, 101], seq_len=50)"), message
    # the hooks run on the model the learner's load_gpt2 loads in the worker: a file whose load_gpt2 is the
    # shipped model (128 tokens, 64 positions) cannot run GPT-2's tokens
    outcome, message = results["induction shipped model as gpt2"][induction_test]
    assert outcome == "error" and "IndexError" in message and "in induction_scores" in message, message
    # a learner file without the load_gpt2 import: the hooks part cannot run in the worker, said so
    outcome, message = results["induction without load_gpt2"][induction_test]
    assert outcome == "not run" and "does not import load_gpt2" in message, message
    previous = results["previous solution"]
    assert all(o == "passed" for name, (o, _) in previous.items() if name != previous_test), previous
    outcome, message = previous[previous_test]
    assert outcome == "failed" and "known previous-token head(s) 4.11 were not found" in message, message


@pytest.mark.slow
def test_check_model_gpt2_without_weights_is_not_run_with_instructions(tmp_path):
    (tmp_path / "hub").mkdir()
    results = run_checks(tmp_path, [["induction", "induction-scores", "solution"],
                                    ["previous", "attention-head-detectors", "solution"]])
    for label, test in [("induction", "test_known_heads_of_a_trained_model"),
                        ("previous", "test_known_previous_token_heads_of_a_trained_model")]:
        outcome, message = results[label][test]
        assert outcome == "not run", (label, outcome, message)
        assert "not in the Hugging Face cache" in message and "from_pretrained('gpt2')" in message, message
        others = [o for name, (o, _) in results[label].items() if name != test]
        assert others and all(o == "passed" for o in others), results[label]
