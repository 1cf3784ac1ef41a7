"""Re-check latency in watch mode: from saving the learner's file to the new verdict on screen.

Spawns `mi-exercise watch SLUG` in a fresh temporary workspace (output piped, so each verdict
is printed as a block), then saves the file N times, alternating the reference solution and a
mutant so that every save changes the verdict, and times each save until the line of that
check (`check #k`) appears. Reports the median, the spread and the check's own seconds.

    python bench/watch_latency.py [--saves 20] [--slug tensor-basics] [--out bench/results/watch_latency.json]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from machine_info import loadavg, machine  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
os.environ["MI_EXERCISE_SERVER"] = "off"  # cold numbers: no check server starts or answers here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--slug", default="tensor-basics")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "watch_latency.json")
    args = parser.parse_args()

    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.validate import graded_source
    from mi_exercise.workspace.workspace import find_workspace

    catalog = load_catalog()
    ex = catalog.get(args.slug)
    versions = [ex.solution_path.read_text(), graded_source(ex, ex.mutant_paths[0])]
    info = {**machine(), "loadavg_at_start": loadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        ws_dir = Path(tmp) / "ws"
        subprocess.run([sys.executable, "-m", "mi_exercise", "init", str(ws_dir)], check=True, stdout=subprocess.DEVNULL)
        learner = find_workspace(ws_dir).learner_file(catalog, ex)
        env = {**os.environ, "COLUMNS": "200"}
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "mi_exercise", "watch", args.slug], cwd=ws_dir, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)], daemon=True).start()

        def until(n: int, timeout: float = 120) -> tuple[float, float]:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                line = lines.get(timeout=timeout)
                if line is None:
                    raise SystemExit("watch ended early")
                m = re.search(r"passed\s+([\d.]+)s\s+check #(\d+)", line)
                if m and int(m.group(2)) == n:
                    return time.perf_counter(), float(m.group(1))
            raise SystemExit(f"check #{n} never came")

        first_at, _ = until(1)
        startup = first_at - started
        latencies, check_seconds = [], []
        for i in range(args.saves):
            time.sleep(0.3)  # a human does not save twice in 0.3 s
            t0 = time.perf_counter()
            learner.write_text(versions[i % 2])
            t1, own = until(i + 2)
            latencies.append(t1 - t0)
            check_seconds.append(own)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    result = {
        "benchmark": "watch mode: save -> verdict latency",
        "slug": args.slug,
        "saves": args.saves,
        "median_s": round(statistics.median(latencies), 3),
        "min_s": round(min(latencies), 3),
        "max_s": round(max(latencies), 3),
        "check_own_median_s": round(statistics.median(check_seconds), 3),
        "startup_to_first_verdict_s": round(startup, 3),
        "target_s": 0.3,
        "latencies_s": [round(x, 3) for x in latencies],
        "watch_exit_status": code,
        "machine": {**info, "loadavg_at_end": loadavg()},
        "note": "loadavg_at_start/at_end show what else ran on the machine; the figures are noisier under load",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("median_s", "min_s", "max_s", "check_own_median_s")}))


if __name__ == "__main__":
    main()
