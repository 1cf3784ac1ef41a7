"""Check latency for every exercise: cold (no server) and warm (through the check server).

For each exercise's reference solution, in one fresh workspace that holds all of them:
- cold: `mi-exercise check SLUG --no-server`, which is exactly the check a learner's first one is
  (median of --cold-runs), against the import floor of what the exercise needs
  (`python -c "import torch, einops"`, plus TransformerLens where the check imports it: found
  from one more cold check under `-X importtime`);
- warm: the median of --warm-runs `mi-exercise check SLUG --json` through the workspace's server,
  and the seconds its tests took (the grader and the learner's code) from that JSON, and of
  those the seconds spent in calls to the learner's code: the rest is the grader's, the
  reference's and the server's.
`python -c "import torch"` is measured in the same run, at the start and the end; the first
use (no server running: a check that starts one) is measured once, for tensor-basics.
Results: bench/results/check_latency.json and check_latency.md (the table in the README).

    python bench/check_latency.py [--warm-runs 10] [--cold-runs 1] [--only slug,slug]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import loadavg, machine  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
# The learner's own code computes for longer here (it trains, or runs a model many times): the
# target is that compute + 0.3 s, not 0.5 s.
COMPUTE_BOUND = {"training", "gpt2-training", "head-ablation"}
WARM_TARGET_S, OVERHEAD_TARGET_S, COLD_TARGET_RATIO = 0.5, 0.3, 1.3


def env(server: bool) -> dict:
    out = {**os.environ, "MI_EXERCISE_SERVER": "on" if server else "off"}
    out.pop("CI", None)
    return out


def timed(cmd, cwd=None, server=False) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env(server), capture_output=True, text=True)
    return time.perf_counter() - start, proc


def median_of(cmd, runs: int, cwd=None) -> float:
    return statistics.median(timed(cmd, cwd)[0] for _ in range(runs))


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "mi_exercise", *args]


def tests_seconds(proc: subprocess.CompletedProcess) -> tuple[float, float, bool]:
    """(the tests' own time, the part of it in calls to the learner's code, passed)."""
    data = json.loads(proc.stdout)
    result = data["results"][0]
    return (sum(t["seconds"] for t in result["tests"]), sum(t.get("learner_seconds", 0.0) for t in result["tests"]),
            bool(result["passed"]))


def pulls_transformer_lens(ex, ws_dir: Path) -> bool:
    """Whether the check's processes import TransformerLens (the exercise needs it, or its
    grader or reference bring it in, at their top or inside a function: the GPT-2 chapter's
    references do): one cold check under `python -X importtime`, whose time is not kept."""
    if "transformer_lens" in ex.needs:
        return True
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "mi_exercise", "check", ex.slug, "--no-server"],
                         cwd=ws_dir, env=env(False), capture_output=True, text=True)
    return "| transformer_lens" in out.stderr or "|   transformer_lens" in out.stderr or " transformer_lens\n" in out.stderr


def wait_for_server(ws: Path, seconds: float = 300) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if subprocess.run(cli("server", "status", "-C", str(ws)), env=env(True), capture_output=True).returncode == 0:
            return True
        time.sleep(0.2)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm-runs", type=int, default=10)
    parser.add_argument("--cold-runs", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated slugs (default: every exercise)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "check_latency.json")
    args = parser.parse_args()

    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.workspace.workspace import find_workspace

    catalog = load_catalog()
    exercises = [catalog.get(s) for s in args.only.split(",")] if args.only else list(catalog.exercises)
    started_load = loadavg()
    torch_floor = [median_of([sys.executable, "-c", "import torch"], 5)]
    floors = {False: median_of([sys.executable, "-c", "import torch, einops"], 3),
              True: median_of([sys.executable, "-c", "import torch, einops, transformer_lens.model_bridge"], 3)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ws_dir = Path(tmp) / "ws"
        subprocess.run(cli("init", str(ws_dir)), check=True, stdout=subprocess.DEVNULL, env=env(False))
        ws = find_workspace(ws_dir)
        for ex in catalog.exercises:  # every solution in place: gpt2-your-model grades the earlier parts too
            shutil.copyfile(ex.solution_path, ws.learner_file(catalog, ex))
        # first use: no server, a check that starts one (and does not wait for it)
        first_use_s, _ = timed(cli("check", "tensor-basics"), cwd=ws_dir, server=True)
        started = time.perf_counter()
        if not wait_for_server(ws_dir):
            raise SystemExit("the check server did not start: " + (ws.state_dir / "server.log").read_text()[-2000:])
        server_ready_s = time.perf_counter() - started
        for ex in exercises:
            needs_tl = pulls_transformer_lens(ex, ws_dir)
            cold = [timed(cli("check", ex.slug, "--no-server"), cwd=ws_dir)[0] for _ in range(args.cold_runs)]
            warm, tests, learner = [], [], []
            timed(cli("check", ex.slug, "--json"), cwd=ws_dir, server=True)  # the server's first look at it
            for _ in range(args.warm_runs):
                seconds, proc = timed(cli("check", ex.slug, "--json"), cwd=ws_dir, server=True)
                spent, in_learner, passed = tests_seconds(proc)
                if not passed:
                    raise SystemExit(f"{ex.slug}: the reference solution did not pass through the server:\n{proc.stdout[-3000:]}")
                warm.append(seconds)
                tests.append(spent)
                learner.append(in_learner)
            row = {"slug": ex.slug, "needs_transformer_lens": needs_tl, "compute_bound": ex.slug in COMPUTE_BOUND,
                   "cold_s": round(statistics.median(cold), 3), "floor_s": round(floors[needs_tl], 3),
                   "warm_median_s": round(statistics.median(warm), 3), "warm_s": [round(w, 3) for w in warm],
                   "tests_median_s": round(statistics.median(tests), 3),
                   "learner_median_s": round(statistics.median(learner), 3)}
            row["cold_ratio"] = round(row["cold_s"] / row["floor_s"], 3)
            row["overhead_s"] = round(row["warm_median_s"] - row["tests_median_s"], 3)
            row["beyond_learner_s"] = round(row["warm_median_s"] - row["learner_median_s"], 3)
            row["meets_warm_target"] = (row["beyond_learner_s"] <= OVERHEAD_TARGET_S if row["compute_bound"]
                                        else row["warm_median_s"] <= WARM_TARGET_S)
            row["meets_cold_target"] = row["cold_ratio"] <= COLD_TARGET_RATIO
            rows.append(row)
            print(f"{ex.slug:34} cold {row['cold_s']:6.2f} s ({row['cold_ratio']:.2f}x floor)  "
                  f"warm {row['warm_median_s']:6.3f} s (tests {row['tests_median_s']:.3f} s, "
                  f"your code {row['learner_median_s']:.3f} s)", flush=True)
        subprocess.run(cli("server", "stop", "-C", str(ws_dir)), env=env(True), capture_output=True)
    torch_floor.append(median_of([sys.executable, "-c", "import torch"], 5))
    import_torch = statistics.median(torch_floor)
    for row in rows:
        row["warm_vs_import_torch"] = round(row["warm_median_s"] / import_torch, 3)
    result = {"benchmark": "check latency: cold and through the check server", "warm_runs": args.warm_runs,
              "cold_runs": args.cold_runs, "import_torch_s": round(import_torch, 3),
              "import_torch_start_end_s": [round(x, 3) for x in torch_floor],
              "floor_torch_einops_s": round(floors[False], 3), "floor_with_transformer_lens_s": round(floors[True], 3),
              "first_use_check_s": round(first_use_s, 3), "server_ready_after_s": round(server_ready_s, 3),
              "targets": {"warm_s": WARM_TARGET_S, "compute_bound_overhead_s": OVERHEAD_TARGET_S,
                          "cold_ratio": COLD_TARGET_RATIO},
              "all_warm_targets_met": all(r["meets_warm_target"] for r in rows),
              "all_cold_targets_met": all(r["meets_cold_target"] for r in rows),
              "exercises": rows, "machine": {**machine(), "loadavg_at_start": started_load, "loadavg_at_end": loadavg()},
              "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(table(result))
    print(table(result))


def table(result: dict) -> str:
    lines = [f"`import torch`: {result['import_torch_s']:.2f} s; floors: torch+einops {result['floor_torch_einops_s']:.2f} s, "
             f"with TransformerLens {result['floor_with_transformer_lens_s']:.2f} s; "
             f"load at start {result['machine']['loadavg_at_start'][0]}, at end {result['machine']['loadavg_at_end'][0]}.",
             "",
             "| exercise | cold | cold / floor | warm (median) | warm / import torch | tests' own time | in the learner's code | warm target |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["exercises"]:
        target = (f"≤ learner's + {OVERHEAD_TARGET_S} s" if r["compute_bound"] else f"≤ {WARM_TARGET_S} s")
        lines.append(f"| {r['slug']} | {r['cold_s']:.2f} s | {r['cold_ratio']:.2f}× | {r['warm_median_s']:.3f} s | "
                     f"{r['warm_vs_import_torch']:.2f}× | {r['tests_median_s']:.3f} s | {r['learner_median_s']:.3f} s | "
                     f"{target}: {'met' if r['meets_warm_target'] else 'MISSED'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
