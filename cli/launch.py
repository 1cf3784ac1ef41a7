"""The `mi-exercise` console script: hand the command to the workspace's check server when one
runs (mi_exercise.server.client, standard library only), else run the CLI here.

Nothing heavy is imported before the server is asked: a warm check costs a Python start, the
client, and the server's own work.
"""

from __future__ import annotations

import os
import sys

IN_SERVER = False  # set in a check server's trusted child: it never starts or asks a server itself


def run_cli() -> int:
    """Run the Click CLI on sys.argv here; its exit status (every command has closed its
    contexts and committed its rows by the time main returns)."""
    from mi_exercise.commands import main

    try:
        main()
        return 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1


def entry() -> None:
    """The console script (and `python -m mi_exercise`).

    Tearing down an interpreter that has imported torch takes ~0.5 s (module and extension
    finalisers), a fifth of a cold check: once torch is loaded we flush and leave with os._exit.
    """
    from mi_exercise.server.client import forward

    code = forward(sys.argv)
    if code is None:
        code = run_cli()
    if "torch" not in sys.modules:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`mi-exercise list | head`)
            pass
    os._exit(code)
