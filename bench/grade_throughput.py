"""Grading throughput: submissions per minute for chapter 0 (foundations), `--jobs 1` vs `--jobs 2`.

Builds a class of N submissions from tensor-basics' solution, mutants and stub (a realistic mix
of full, partial and zero scores), grades it with the real CLI at each --jobs value, and writes
bench/results/grade_throughput.json.

    python bench/grade_throughput.py [--submissions 8] [--jobs 1 2] [--repeat 1]

Each run also records the CPU seconds of the grade command and everything it started, the CPU
seconds other processes used meanwhile and the seconds the hypervisor stole (/proc/stat), and the
load average before and after it (the machine may be shared: a busy one cannot give --jobs 2 two
cores). With --repeat R the --jobs values are run R times, interleaved: `ratio` compares the
medians, `ratio_per_round` each round's runs, and `quietest_round` is the round whose runs shared
the machine least (other processes' CPU seconds). `--wait-quiet S` waits up to S seconds before
each run until other processes use under a tenth of a core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mi_exercise.validate import compose

REPO = Path(__file__).resolve().parent.parent


def build_class(root: Path, n: int, chapter: str = "foundations") -> list[Path]:
    sources = []
    for ex_toml in sorted((REPO / "exercises" / chapter).glob("*/exercise.toml")):
        slug = ex_toml.parent.name
        gr = REPO / "graders" / chapter / slug
        sources.append({slug: gr / "solution.py"})
        sources += [{slug: m} for m in sorted((gr / "mutants").glob("*.py"))]
        sources.append({slug: ex_toml.parent / "stub.py"})
    subs = []
    for i in range(n):
        sub = root / f"learner-{i:03d}"
        for slug, src in sources[i % len(sources)].items():
            target = sub / f"00-{chapter}" / f"{slug.replace('-', '_')}.py"
            target.parent.mkdir(parents=True, exist_ok=True)
            if src.parent.name == "mutants":  # an override: a learner's file is the solution + mutant
                target.write_text(compose(src.parent.parent / "solution.py", src))
            else:
                shutil.copy(src, target)
        subs.append(sub)
    return subs


def cpu_counters() -> tuple[float, float]:
    """(CPU seconds every core of this machine has been busy since boot, seconds stolen by the
    hypervisor), from /proc/stat: for the share of a run that went to other processes, and to
    other virtual machines. (0.0, 0.0) where there is no /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    busy = sum(fields[:3]) + sum(fields[5:7])  # user nice system, irq softirq
    return busy / tick, (fields[7] if len(fields) > 7 else 0) / tick


def wait_quiet(limit: float) -> float:
    """Wait (at most `limit` seconds) until the machine's cores are busy under 0.1 of a core over
    a second; returns how long it waited."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        before = cpu_counters()[0]
        time.sleep(1.0)
        if cpu_counters()[0] - before < 0.1:
            break
    return time.monotonic() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--submissions", type=int, default=8)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "grade_throughput.json")
    args = ap.parse_args()
    slugs = ",".join(p.parent.name for p in sorted((REPO / "exercises" / "foundations").glob("*/exercise.toml")))
    runs = []
    with tempfile.TemporaryDirectory(prefix="mi-bench-grade-") as tmp:
        subs = build_class(Path(tmp) / "class", args.submissions)
        for rep in range(args.repeat):
            for jobs in args.jobs:
                out = Path(tmp) / f"out-{jobs}-{rep}"
                env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
                waited = wait_quiet(args.wait_quiet) if args.wait_quiet else 0.0
                load_before = os.getloadavg()
                cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                busy_before, steal_before = cpu_counters()
                start = time.monotonic()
                proc = subprocess.run([sys.executable, "-m", "mi_exercise", "grade", *map(str, subs), "--out", str(out),
                                       "--jobs", str(jobs), "--exercises", slugs], env=env, capture_output=True, text=True)
                seconds = time.monotonic() - start
                cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
                busy_after, steal_after = cpu_counters()
                busy, steal = busy_after - busy_before, steal_after - steal_before
                if proc.returncode not in (0, 1):
                    sys.exit(f"grade failed ({proc.returncode}):\n{proc.stderr}")
                summary = json.loads((out / "summary.json").read_text())
                cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
                runs.append({"round": rep + 1, "jobs": jobs, "submissions": summary["submissions"], "seconds": round(seconds, 2),
                             "submissions_per_minute": round(60 * summary["submissions"] / seconds, 2),
                             "cpu_seconds": round(cpu, 2),
                             "others_cpu_seconds": round(max(0.0, busy - cpu), 2) if busy else None,
                             "stolen_seconds": round(steal, 2), "waited_for_quiet_seconds": round(waited, 1),
                             "loadavg_before": [round(x, 2) for x in load_before],
                             "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                             "errors": summary["errors"],
                             "scores": sorted(l["score"] for l in summary["learners"])})
                print(f"--jobs {jobs}: {summary['submissions']} submissions in {seconds:.1f}s = "
                      f"{runs[-1]['submissions_per_minute']:.1f}/min ({cpu:.1f} CPU s; others {runs[-1]['others_cpu_seconds']} CPU s,"
                      f" stolen {steal:.2f} s, load {load_before[0]:.2f})")
    medians = {j: statistics.median(r["seconds"] for r in runs if r["jobs"] == j) for j in args.jobs}
    same_scores = len({tuple(r["scores"]) for r in runs}) == 1
    rounds = {}
    for r in runs:
        rounds.setdefault(r["round"], {})[r["jobs"]] = r
    per_round = [{"round": k, "others_cpu_seconds": round(sum(r["others_cpu_seconds"] or 0 for r in rr.values()), 2),
                  **{f"--jobs {j} vs {args.jobs[0]}": round(rr[args.jobs[0]]["seconds"] / rr[j]["seconds"], 3)
                     for j in args.jobs[1:]}} for k, rr in rounds.items()]
    result = {"benchmark": "grade_throughput", "chapter": "foundations", "exercises": slugs.split(","),
              "cpu_count": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
              "repeat": args.repeat, "median_seconds": medians, "scores_identical": same_scores,
              "ratio": {f"--jobs {j} vs {args.jobs[0]}": round(medians[args.jobs[0]] / medians[j], 3) for j in args.jobs[1:]},
              "ratio_per_round": per_round, "quietest_round": min(per_round, key=lambda r: r["others_cpu_seconds"]),
              "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}: throughput ratio {result['ratio']} (medians), quietest round "
          f"{result['quietest_round']}, scores identical: {same_scores}")
    if not same_scores:
        sys.exit("the scores differ between runs")


if __name__ == "__main__":
    main()
