"""`validate --all`: wall time, and where the time goes (per exercise, per trial).

1. The real command, `mi-exercise validate --all --json`, timed as a whole. It uses one warm
   worker for all its runs, and its JSON gives each trial's seconds (solution, stub, each
   mutant), so the breakdown is the command's own.
2. What the warm worker saves: a sample of exercises (one per chapter by default) validated
   again in this process with a cold worker per trial, against the command's warm figures.

    python bench/validate_all.py [--out bench/results/validate_all.json] [--cold SLUG ...] [--no-cold]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from machine_info import loadavg, machine  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
os.environ["MI_EXERCISE_SERVER"] = "off"  # cold numbers: no check server starts or answers here


def cold_validate(catalog, slugs: list[str]) -> list[dict]:
    """Each exercise validated with a cold worker per trial (no zygote), timed per trial."""
    from mi_exercise.runner import warm as warm_mod
    from mi_exercise.validate import validate_exercise

    warm_mod.use(None)
    rows = []
    for slug in slugs:
        ex = catalog.get(slug)
        start = time.perf_counter()
        v = validate_exercise(ex, device="cpu")
        rows.append({"slug": slug, "ok": v.ok, "seconds": round(time.perf_counter() - start, 2),
                     "trials": {t.path.name: round(t.result.seconds, 3) if t.result else None for t in v.trials}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "validate_all.json")
    parser.add_argument("--cold", nargs="*", default=None, help="exercises to re-validate cold (default: the first of each chapter)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold comparison")
    args = parser.parse_args()

    from mi_exercise.catalog.loader import load_catalog

    catalog = load_catalog()
    info = {**machine(), "loadavg_at_start": loadavg()}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mi_exercise", "validate", "--all", "--device", "cpu", "--json"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit(f"validate --all printed no JSON (exit {proc.returncode}):\n{proc.stderr[-3000:]}") from None
    per_exercise = []
    for e in data["exercises"]:
        trials = {t["file"]: t.get("seconds") for t in e["trials"]}
        per_exercise.append({"slug": e["slug"], "ok": e["ok"], "seconds": e["seconds"], "trials": trials})
    by_chapter: dict[str, float] = {}
    for e in per_exercise:
        chapter = catalog.get(e["slug"]).chapter
        by_chapter[chapter] = round(by_chapter.get(chapter, 0.0) + e["seconds"], 2)
    trial_total = sum(s for e in per_exercise for s in e["trials"].values() if s is not None)

    if args.no_cold:
        sample = []
    elif args.cold is not None:
        sample = args.cold
    else:
        firsts: dict[str, str] = {}
        for ex in catalog.exercises:
            firsts.setdefault(ex.chapter, ex.slug)
        sample = list(firsts.values())
    cold_rows = cold_validate(catalog, sample)
    warm_of = {e["slug"]: e["seconds"] for e in per_exercise}
    result = {
        "benchmark": "validate --all",
        "command_wall_s": round(wall, 2),
        "command_ok": data["ok"],
        "exercises": len(per_exercise),
        "trials": sum(len(e["trials"]) for e in per_exercise),
        "seconds_in_trials": round(trial_total, 2),
        "seconds_outside_trials": round(wall - trial_total, 2),
        "per_chapter_s": by_chapter,
        "slowest_exercises": sorted(({"slug": e["slug"], "seconds": e["seconds"]} for e in per_exercise),
                                    key=lambda r: -r["seconds"])[:5],
        "per_exercise": per_exercise,
        "cold_sample": [{**row, "warm_seconds": warm_of.get(row["slug"]),
                         "cold_over_warm": round(row["seconds"] / warm_of[row["slug"]], 2) if warm_of.get(row["slug"]) else None}
                        for row in cold_rows],
        "machine": {**info, "loadavg_at_end": loadavg()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("command_wall_s", "command_ok", "exercises", "trials", "seconds_in_trials",
                                             "per_chapter_s")}))
    for row in result["cold_sample"]:
        print(f"cold {row['slug']}: {row['seconds']}s vs warm {row['warm_seconds']}s")


if __name__ == "__main__":
    main()
