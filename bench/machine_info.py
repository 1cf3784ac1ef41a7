"""The machine a benchmark ran on, written into every results file (imported by the bench
scripts, which run as `python bench/<script>.py`, so this folder is on sys.path)."""

from __future__ import annotations

import os
import platform


def machine() -> dict:
    import torch

    return {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}


def loadavg() -> list[float]:
    """What else was running: the 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]
