"""Cold `mi-exercise check` wall time as a ratio to `python -c "import torch, einops"`.

Both are measured in the same run on the same machine, alternating, median of N runs each.
The check grades the reference solution of tensor-basics in a fresh temporary workspace.

    python bench/cold_check.py [--runs 9] [--slug tensor-basics] [--out bench/results/cold_check.json]
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
os.environ["MI_EXERCISE_SERVER"] = "off"  # cold numbers: no check server starts or answers here


def timed(cmd: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--slug", default="tensor-basics")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "cold_check.json")
    args = parser.parse_args()

    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.workspace.workspace import find_workspace

    catalog = load_catalog()
    exercise = catalog.get(args.slug)
    with tempfile.TemporaryDirectory() as tmp:
        ws_dir = Path(tmp) / "ws"
        subprocess.run([sys.executable, "-m", "mi_exercise", "init", str(ws_dir)], check=True, stdout=subprocess.DEVNULL)
        ws = find_workspace(ws_dir)
        shutil.copyfile(exercise.solution_path, ws.learner_file(catalog, exercise))
        baseline_cmd = [sys.executable, "-c", "import torch, einops"]
        check_cmd = [sys.executable, "-m", "mi_exercise", "check", args.slug]
        timed(baseline_cmd)  # warm the page cache for both
        timed(check_cmd, cwd=ws_dir)
        base, check = [], []
        for _ in range(args.runs):
            base.append(timed(baseline_cmd))
            check.append(timed(check_cmd, cwd=ws_dir))
    result = {
        "benchmark": "cold check vs import torch, einops",
        "slug": args.slug,
        "runs": args.runs,
        "baseline_median_s": round(statistics.median(base), 3),
        "check_median_s": round(statistics.median(check), 3),
        "ratio": round(statistics.median(check) / statistics.median(base), 3),
        "baseline_s": [round(x, 3) for x in base],
        "check_s": [round(x, 3) for x in check],
        "machine": {**machine(), "loadavg": loadavg()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("baseline_median_s", "check_median_s", "ratio")}))


if __name__ == "__main__":
    main()
