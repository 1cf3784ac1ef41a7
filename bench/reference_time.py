"""How much of a check is the reference solution's time, and what the reference cache saves.

1. Per exercise, in this process: `run_check` of its solution without the cache, with a profile
   hook that clocks every stretch of time spent in reference code (the solution file and the
   injected reference parts, whether a grader called a function, built a reference class or ran
   its forward): the check's seconds, the reference's seconds, and the seconds of reference
   *function* calls (what the cache can answer), with the reasons calls were not stored.
2. Then the same check twice with the cache on, in a fresh cache folder (a miss that fills
   it, then a warm check): seconds, hits, and what stays uncached.
3. `--validate SLUG ...`: `mi-exercise validate SLUG` as a command, with the cache off, with
   it on and empty, and on and warm (wall and CPU seconds of each; medians of --repeat).
4. `--validate-here SLUG ...`: validate_exercise in this process (one warm worker, as the command
   has), three ways: every reference call made and timed but nothing stored (what validate
   spends in reference functions without the cache), with an empty cache, and warm; the
   reference seconds are the trusted side's own work, so they hold on a busy machine where
   the wall times do not.

    python bench/reference_time.py [SLUG ...] [--validate SLUG ...] [--repeat N] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import loadavg, machine  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent


class ReferenceClock:
    """sys.setprofile: seconds spent in frames of reference code, outermost stretches only."""

    def __init__(self, files: set[str]):
        self.files = files
        self.depth = 0
        self.entered = 0.0
        self.seconds = 0.0

    def __call__(self, frame, event, arg):
        if event == "call":
            name = frame.f_code.co_filename
            if name in self.files or name.startswith("<reference "):
                if self.depth == 0:
                    self.entered = time.perf_counter()
                self.depth += 1
        elif event == "return" and self.depth:
            name = frame.f_code.co_filename
            if name in self.files or name.startswith("<reference "):
                self.depth -= 1
                if self.depth == 0:
                    self.seconds += time.perf_counter() - self.entered


def check_once(ex, *, cache: bool, profile: bool = False) -> dict:
    from mi_exercise.runner import reference_cache as rc
    from mi_exercise.runner.check import run_check

    rc.stats.reset()
    clock = ReferenceClock({str(ex.solution_path.resolve()), str(ex.solution_path)})
    if profile:
        import threading

        threading.setprofile(clock)
        sys.setprofile(clock)
    start = time.perf_counter()
    try:
        result = run_check(ex, ex.solution_path, device="cpu", own_parts=False, reference_cache=cache)
    finally:
        if profile:
            sys.setprofile(None)
    seconds = time.perf_counter() - start
    row = {"status": result.status, "seconds": round(seconds, 3), **rc.stats.to_dict()}
    if profile:
        row["reference_seconds"] = round(clock.seconds, 3)
    return row


def validate_seconds(slug: str, env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and everything it started): on a machine shared
    with other work the CPU seconds say more than the wall."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mi_exercise", "validate", slug, "--device", "cpu"],
                          capture_output=True, text=True, env={**os.environ, **env})
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        print(f"validate {slug} exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}", file=sys.stderr)
    return round(seconds, 2), round(cpu, 2)


class NoStore:
    """A store that never answers and keeps nothing: every call is made, and timed."""

    def get(self, key):
        return None

    def put(self, key, value) -> bool:
        return False


def validate_here(catalog, slug: str) -> dict:
    from mi_exercise.runner import reference_cache as rc
    from mi_exercise.runner import warm
    from mi_exercise.validate import validate_exercise

    ex = catalog.get(slug)
    row = {"slug": slug}
    real = rc.Store.for_exercise
    pool = warm.start_in_process()
    try:
        for kind in ("uncached", "empty", "warm"):
            rc.stats.reset()
            rc.FAST.clear()
            rc.Store.for_exercise = classmethod(lambda cls, *a, **k: NoStore()) if kind == "uncached" else real
            start = time.perf_counter()
            v = validate_exercise(ex, device="cpu")
            row[kind] = {"ok": v.ok, "trials": len(v.trials), "wall_s": round(time.perf_counter() - start, 2),
                         "reference_function_s": round(rc.stats.seconds_called, 2), "hits": rc.stats.hits,
                         "not_stored": dict(rc.stats.not_stored), "loadavg": loadavg()}
    finally:
        rc.Store.for_exercise = real
        pool.close() if pool is not None and hasattr(pool, "close") else None
    u, e, w = row["uncached"], row["empty"], row["warm"]
    print(f"validate (here) {slug:24s} {u['trials']} trials | reference functions: uncached {u['reference_function_s']} s, "
          f"empty cache {e['reference_function_s']} s, warm {w['reference_function_s']} s | wall {u['wall_s']} / "
          f"{e['wall_s']} / {w['wall_s']} s | ok {u['ok']} {e['ok']} {w['ok']} | load {w['loadavg']}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("slugs", nargs="*", help="exercises to profile (default: all)")
    parser.add_argument("--validate", nargs="*", default=[], help="exercises to validate off / cold / warm")
    parser.add_argument("--validate-here", nargs="*", default=[], help="exercises to validate in this process")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--all-calls", action="store_true",
                        help="store fast calls too (MIN_CALL_SECONDS = 0): which calls are pure, which draw")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "reference_time.json")
    args = parser.parse_args()

    os.environ.setdefault("MI_EXERCISE_SANDBOX", "off")  # the trusted side's time is what is measured
    import torch  # noqa: F401 - before any clock, as check does

    from mi_exercise.catalog.loader import load_catalog

    catalog = load_catalog()
    if args.all_calls:
        from mi_exercise.runner import reference_cache

        reference_cache.MIN_CALL_SECONDS = 0.0
    info = {**machine(), "loadavg_at_start": loadavg(), "all_calls": args.all_calls}
    rows = []
    slugs = args.slugs or ([] if args.validate or args.validate_here else [e.slug for e in catalog.exercises])
    with tempfile.TemporaryDirectory(prefix="mi-refcache-bench-") as cache:
        os.environ["XDG_CACHE_HOME"] = cache  # an empty cache folder: the first run fills it
        for slug in slugs:
            ex = catalog.get(slug)
            row = {"slug": slug}
            if not args.no_profile:
                row["uncached"] = check_once(ex, cache=False, profile=True)
            row["first"] = check_once(ex, cache=True)
            row["warm"] = check_once(ex, cache=True)
            rows.append(row)
            u, f, w = row.get("uncached", {}), row["first"], row["warm"]
            print(f"{slug:30s} profiled: check {u.get('seconds', '-'):>6} s, in reference code {u.get('reference_seconds', '-'):>6} s | "
                  f"empty cache: check {f['seconds']:6.2f} s, reference functions {f['seconds_called']:.3f} s | "
                  f"warm: check {w['seconds']:6.2f} s, {w['hits']} hits, still called {w['seconds_called']:.3f} s "
                  f"{w['not_stored']} drew {f['drew']}", flush=True)
    validate = []
    for slug in args.validate:
        runs = {"off": [], "cold": [], "warm": []}
        cpu = {"off": [], "cold": [], "warm": []}
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="mi-refcache-bench-") as cache:
                env = {"XDG_CACHE_HOME": cache}
                for kind, extra in (("off", {"MI_EXERCISE_REFERENCE_CACHE": "off"}), ("cold", {}), ("warm", {})):
                    wall, used = validate_seconds(slug, {**env, **extra})
                    runs[kind].append(wall)
                    cpu[kind].append(used)
        row = {"slug": slug, "wall_s": runs, "cpu_s": cpu, "loadavg": loadavg(),
               **{f"{k}_wall_median": statistics.median(v) for k, v in runs.items()},
               **{f"{k}_cpu_median": statistics.median(v) for k, v in cpu.items()}}
        validate.append(row)
        print(f"validate {slug:26s} wall: off {row['off_wall_median']} s, cache empty {row['cold_wall_median']} s, "
              f"warm {row['warm_wall_median']} s | CPU: off {row['off_cpu_median']} s, empty {row['cold_cpu_median']} s, "
              f"warm {row['warm_cpu_median']} s | load {row['loadavg']}", flush=True)
    here = []
    if args.validate_here:
        with tempfile.TemporaryDirectory(prefix="mi-refcache-bench-") as cache:
            os.environ["XDG_CACHE_HOME"] = cache
            here = [validate_here(catalog, slug) for slug in args.validate_here]
    info["loadavg_at_end"] = loadavg()
    out = {"machine": info, "checks": rows, "validate": validate, "validate_here": here}
    if args.out:
        previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
        if not rows and previous.get("checks"):
            out["checks"] = previous["checks"]  # a --validate-only run keeps the checks' table
        if not validate and previous.get("validate"):
            out["validate"] = previous["validate"]
        if not here and previous.get("validate_here"):
            out["validate_here"] = previous["validate_here"]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1) + "\n")
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
