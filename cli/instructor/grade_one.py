"""Child process of `grade`: grade one submission described by a job file, write its result.

`python -m mi_exercise.instructor.grade_one JOB.json`. Kept separate from the parent so that a
submission that takes pytest or the interpreter down takes only itself down.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.instructor.batch import error_record, grade_in_process
    from mi_exercise.instructor.submissions import Submission
    from mi_exercise.runner.containment import Containment

    contained = Containment()
    job = json.loads(Path(argv[1]).read_text())
    s = job["submission"]
    sub = Submission(s["id"], Path(s["source"]), s["kind"])
    catalog = load_catalog()
    exercises = [catalog.get(slug) for slug in job["exercises"]]
    try:
        rec = grade_in_process(sub, exercises, job["expected"], device=job["device"], sandbox=job["sandbox"],
                               hide=[Path(h) for h in job["hide"]], threads=job.get("threads"))
    except Exception as exc:  # noqa: BLE001 - reported as this submission's error result
        rec = error_record(sub, exercises, job["expected"], f"grading failed: {type(exc).__name__}: {exc}")
    contained.kill_strays()  # whatever the submission started is dead before its result is written
    tmp = Path(job["out"] + ".tmp")
    tmp.write_text(json.dumps(rec))
    tmp.replace(job["out"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
