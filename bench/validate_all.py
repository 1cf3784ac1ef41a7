"""`validate --all`: wall time, and where the time goes (per exercise, per trial).

1. The real command, `mi-exercise validate --all --json`, timed as a whole (it uses one warm
   worker for all its runs).
2. In this process, each exercise validated twice, with the warm worker and with a cold worker
   per run, timing every trial (solution, stub, each mutant), so the breakdown shows what the
   warm worker saves and what is left (the graders' own work).

    python bench/validate_all.py [--out bench/results/validate_all.json] [--no-cold]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def machine() -> dict:
    import torch

    return {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}


def per_exercise(catalog, warm: bool) -> list[dict]:
    from mi_exercise.runner import check as check_mod
    from mi_exercise.runner import warm as warm_mod
    from mi_exercise.validate import validate_exercise

    pool = warm_mod.start_in_process() if warm else None
    if not warm:
        warm_mod.use(None)
    timings: list[tuple[str, float]] = []
    real = check_mod.run_check

    def timed_check(exercise, path, **kw):
        start = time.perf_counter()
        try:
            return real(exercise, path, **kw)
        finally:
            timings.append((Path(path).name, time.perf_counter() - start))

    import mi_exercise.validate as validate_mod

    validate_mod.run_check = timed_check
    rows = []
    try:
        for ex in catalog.exercises:
            timings.clear()
            start = time.perf_counter()
            v = validate_exercise(ex, device="cpu")
            rows.append({"slug": ex.slug, "ok": v.ok, "seconds": round(time.perf_counter() - start, 3),
                         "trials": {name: round(s, 3) for name, s in timings}})
    finally:
        validate_mod.run_check = real
        if pool is not None:
            warm_mod.use(None)
            pool.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "validate_all.json")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold comparison")
    args = parser.parse_args()

    from mi_exercise.catalog.loader import load_catalog

    info = machine()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mi_exercise", "validate", "--all", "--json"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    data = json.loads(proc.stdout)
    catalog = load_catalog()
    warm_rows = per_exercise(catalog, warm=True)
    cold_rows = [] if args.no_cold else per_exercise(catalog, warm=False)
    result = {
        "benchmark": "validate --all",
        "command_wall_s": round(wall, 3),
        "command_ok": data["ok"],
        "command_per_exercise_s": {e["slug"]: e["seconds"] for e in data["exercises"]},
        "in_process_warm": warm_rows,
        "in_process_cold": cold_rows,
        "machine": {**info, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "note": "other processes shared the 2 CPUs during the run (see loadavg); numbers are noisy",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"command_wall_s": result["command_wall_s"],
                      "warm_total_s": round(sum(r["seconds"] for r in warm_rows), 2),
                      "cold_total_s": round(sum(r["seconds"] for r in cold_rows), 2)}))


if __name__ == "__main__":
    main()
