"""What the sandbox costs a cold `mi-exercise check`: the same check sandboxed (the default)
and with --no-sandbox, in the same run, interleaved, median of N each. Also the fixed cost
alone, which a busy machine's noise cannot hide: starting `python -I -c pass` inside the
sandbox against starting it plainly (median of 5 N, interleaved).

The check grades the reference solution of tensor-basics in a fresh temporary workspace. The
sandbox's probe is cached per machine, so it runs once before the measured runs.

    python bench/sandbox_cost.py [--runs 9] [--slug tensor-basics] [--out bench/results/sandbox_cost.json]
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

from cold_check import timed  # bench/ is on sys.path when run as a script
from machine_info import loadavg, machine

REPO = Path(__file__).resolve().parent.parent
os.environ["MI_EXERCISE_SERVER"] = "off"  # cold numbers: no check server starts or answers here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--slug", default="tensor-basics")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "sandbox_cost.json")
    args = parser.parse_args()
    if args.runs < 7:
        raise SystemExit("--runs: at least 7, for a median worth reading")

    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.sandbox import probe
    from mi_exercise.workspace.workspace import find_workspace

    box = probe()  # fails here, with the reason, where no sandbox works
    catalog = load_catalog()
    exercise = catalog.get(args.slug)
    load_before = loadavg()
    with tempfile.TemporaryDirectory() as tmp:
        ws_dir = Path(tmp) / "ws"
        subprocess.run([sys.executable, "-m", "mi_exercise", "init", str(ws_dir)], check=True, stdout=subprocess.DEVNULL)
        ws = find_workspace(ws_dir)
        shutil.copyfile(exercise.solution_path, ws.learner_file(catalog, exercise))
        sandboxed_cmd = [sys.executable, "-m", "mi_exercise", "check", args.slug, "--sandbox"]
        plain_cmd = [sys.executable, "-m", "mi_exercise", "check", args.slug, "--no-sandbox"]
        timed(sandboxed_cmd, cwd=ws_dir)  # warm the page cache for both
        timed(plain_cmd, cwd=ws_dir)
        boxed, plain = [], []
        for i in range(args.runs):
            pair = [(boxed, sandboxed_cmd), (plain, plain_cmd)]
            for store, cmd in (pair if i % 2 == 0 else pair[::-1]):  # neither always goes first
                store.append(timed(cmd, cwd=ws_dir))
        bare = [sys.executable, "-I", "-c", "pass"]
        boxed_start, plain_start = [], []
        for _ in range(args.runs * 5):
            boxed_start.append(timed([*box.prefix(readable=[ws_dir]), *bare]))
            plain_start.append(timed(bare))
    overhead = statistics.median(boxed_start) - statistics.median(plain_start)
    result = {
        "benchmark": "cold check, sandboxed vs --no-sandbox",
        "slug": args.slug,
        "runs": args.runs,
        "bwrap": box.version,
        "sandboxed_median_s": round(statistics.median(boxed), 3),
        "unsandboxed_median_s": round(statistics.median(plain), 3),
        "ratio": round(statistics.median(boxed) / statistics.median(plain), 3),
        "sandbox_start_overhead_ms": round(1000 * overhead, 1),
        "overhead_share_of_unsandboxed_check": round(overhead / statistics.median(plain), 4),
        "sandboxed_s": [round(x, 3) for x in boxed],
        "unsandboxed_s": [round(x, 3) for x in plain],
        "machine": {**machine(), "loadavg_before": load_before, "loadavg": loadavg()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("sandboxed_median_s", "unsandboxed_median_s", "ratio",
                                             "sandbox_start_overhead_ms", "overhead_share_of_unsandboxed_check")}))


if __name__ == "__main__":
    main()
