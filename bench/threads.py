"""Torch's intra-op threads in the worker: the default (one per core) against 1, per exercise.

Runs the reference solution's check (a cold worker each time, on the CPU) with exercise.toml's
`[limits] threads` unset and set to 1, alternating, and records the whole check's seconds and
each test's, with the load average before each run: on a machine shared with other work,
threads that compete for busy cores can cost more than they bring.

    python bench/threads.py [--reps 3] [--slugs training gpt2-training tensor-basics] [--out bench/results/threads.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from machine_info import loadavg, machine  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
os.environ["MI_EXERCISE_SERVER"] = "off"  # cold numbers: no check server starts or answers here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--slugs", nargs="+", default=["training", "gpt2-training", "tensor-basics"])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "threads.json")
    args = parser.parse_args()

    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.runner.check import run_check

    catalog = load_catalog()
    default = int(subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                                 capture_output=True, text=True, check=True).stdout)
    results = {"machine": {**machine(), "loadavg_at_start": loadavg()}, "torch_default_threads": default,
               "exercises": {}}
    for slug in args.slugs:
        ex = catalog.get(slug)
        runs = {"default": [], "1": []}
        for rep in range(args.reps):
            for label, threads in (("default", None), ("1", 1)):
                variant = dataclasses.replace(ex, limits=dataclasses.replace(ex.limits, threads=threads))
                load = loadavg()
                r = run_check(variant, ex.solution_path, device="cpu")
                # a test that ran out of time is recorded, not hidden: that is what threads can cost
                failed = {t.name: t.outcome.value for t in r.tests if t.outcome.value != "passed"}
                runs[label].append({"seconds": round(r.seconds, 3), "loadavg_before": load, "passed": r.passed,
                                    "not_passed": failed, "tests": {t.name: round(t.seconds, 3) for t in r.tests}})
                print(f"{slug:<16} threads={label:<8} rep {rep}: {r.seconds:6.2f} s (load {load[0]})"
                      + (f"  NOT PASSED: {failed}" if failed else ""), flush=True)
        slowest = max(runs["default"][0]["tests"], key=runs["default"][0]["tests"].get)
        summary = {label: {"check_median_s": statistics.median(x["seconds"] for x in rs),
                           f"{slowest}_median_s": statistics.median(x["tests"][slowest] for x in rs),
                           "passed": f"{sum(x['passed'] for x in rs)}/{len(rs)}"}
                   for label, rs in runs.items()}
        results["exercises"][slug] = {"slowest_test": slowest, "summary": summary, "runs": runs}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")  # after each exercise: a long run keeps its part
    results["machine"]["loadavg_at_end"] = loadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({s: e["summary"] for s, e in results["exercises"].items()}, indent=2))


if __name__ == "__main__":
    main()
