"""Child process of `grade`: the graders' test names, collected before any submission is graded.

`python -m mi_exercise.instructor.collect OUT.json CONTENT_ROOT SLUG...` writes {"expected": {slug: [names]}}
or, when a grader cannot be collected, {"error": message}. Run as a fork of the job server
(jobserver.py), where torch and pytest are imported already, so that `grade`'s own process
never imports them: its collection no longer runs before the server is ready, one after the other.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.instructor.batch import GradeError, expected_tests

    catalog = load_catalog(Path(argv[2]))
    try:
        answer = {"expected": {slug: expected_tests(catalog.get(slug)) for slug in argv[3:]}}
    except GradeError as exc:
        answer = {"error": str(exc)}
    tmp = Path(argv[1] + ".tmp")
    tmp.write_text(json.dumps(answer))
    tmp.replace(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
