"""`mi-exercise watch`: re-check the exercise being edited on every save.

The trusted side (this process) keeps pytest, torch and the graders' references loaded between
checks, and a private warm worker (zygote.py) forks a fresh, limited worker for each check, so
a check after a save costs the grader's own time, not a Python start and a torch import. A
submission that crashes, hangs or eats memory ends its own worker, not this loop.

The view is redrawn in place on a terminal (rich Live); when the output is not a terminal each
verdict is printed as a block, one after another (tests and logs read that).
"""

from __future__ import annotations

import hashlib

import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console, Group
from rich.text import Text

from mi_exercise.catalog.model import Catalog, Exercise, learner_sees
from mi_exercise.runner.outcomes import Outcome
from mi_exercise.workspace.workspace import Workspace

POLL_SECONDS = 0.02  # a stat of each learner file: cheap, and a save is seen within 20 ms
STYLE = {Outcome.PASSED: "green", Outcome.FAILED: "red", Outcome.ERROR: "red", Outcome.TIMEOUT: "yellow",
         Outcome.OUT_OF_MEMORY: "yellow", Outcome.CRASHED: "red", Outcome.EXITED: "yellow",
         Outcome.GRADER_ERROR: "magenta", Outcome.NOT_RUN: "dim"}


class Stop(Exception):
    """Ctrl-C: leave the loop cleanly."""


@dataclass
class WatchState:
    exercise: Exercise
    result: object = None  # CheckResult of the last check
    error: str = ""
    checks: int = 0
    note: str = ""
    mtimes: dict = field(default_factory=dict)


def file_stamp(path: Path):
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def content_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def verdict_view(state: WatchState, ws: Workspace, catalog: Catalog, max_lines: int = 14) -> Group:
    ex = state.exercise
    lines: list[Text] = []
    head = Text()
    r = state.result
    head.append(f"{ex.slug}", style="bold")
    head.append(f": {ex.title}")
    if r is not None:
        ok = r.passed
        head.append(f"   {r.n_passed}/{r.n_ran} passed", style="bold green" if ok else "bold red")
        if r.not_run:
            head.append(f"   {len(r.not_run)} not run", style="dim")
        head.append(f"   {r.seconds:.2f}s   check #{state.checks}", style="dim")
    lines.append(head)
    if state.error:
        lines.append(Text("  " + state.error, style="magenta"))
    if r is not None:
        if r.problem:
            lines.append(Text("  " + r.problem.splitlines()[0], style="magenta"))
        row = Text("  ")
        for t in r.tests:
            row.append(f"{t.outcome.symbol} {t.name}  ", style=STYLE[t.outcome])
        lines.append(row)
        first = next((t for t in r.tests if t.outcome not in (Outcome.PASSED, Outcome.NOT_RUN)), None)
        if first is not None:
            lines.append(Text(f"  first failure: {first.name} ({first.outcome.value})", style="bold " + STYLE[first.outcome]))
            # a hidden test's message names its inputs: not shown (feedback/report.py's rule)
            msg = (first.message or "").splitlines() if learner_sees(first.visibility) else ["(hidden test: message not shown)"]
            for m in msg[:max_lines]:
                lines.append(Text("    " + m))
            if len(msg) > max_lines:
                lines.append(Text(f"    ... ({len(msg) - max_lines} more lines: `mi-exercise check {ex.slug}`)", style="dim"))
            if first.output and learner_sees(first.visibility):
                lines.append(Text("    your code printed: " + first.output.strip().splitlines()[-1][:200], style="dim"))
        elif r.passed:
            lines.append(Text("  All tests pass.", style="green"))
    if state.note:
        lines.append(Text(state.note, style="bold cyan"))
    try:
        rel = ws.learner_file(catalog, ex).relative_to(ws.root)
    except ValueError:
        rel = ws.learner_file(catalog, ex)
    lines.append(Text(f"watching {rel} and the workspace; save to re-check, Ctrl-C to stop", style="dim"))
    return Group(*lines)


def run_watch(catalog: Catalog, ws: Workspace, first: Exercise, *, console: Console, device: str = "auto",
              options: dict | None = None, poll: float = POLL_SECONDS, max_checks: int | None = None,
              sandbox=None) -> int:
    """Watch until Ctrl-C (or `max_checks` checks); returns the exit status (0). With `sandbox`
    (a mi_exercise.sandbox.Sandbox) the zygote and so every check's worker runs inside it."""
    from mi_exercise.runner import warm
    from mi_exercise.runner.check import run_check
    from mi_exercise.sandbox import workspace_view

    readable, hidden = workspace_view(ws.root)
    shared = warm.current()  # in a check server's child: its warm zygote, when it is sandboxed as asked
    owned = not (shared is not None and shared.running and shared.sandboxed == (sandbox is not None))
    if owned:  # torch imports in the zygote while we import pytest
        pool = warm.start_in_process(sandbox, readable, hidden) if sandbox else warm.start_in_process()
    stopping = {"flag": False}

    def on_sigint(signum, frame):
        stopping["flag"] = True
        raise KeyboardInterrupt  # pytest turns this into an interrupted session; we then stop

    previous = signal.signal(signal.SIGINT, on_sigint)
    live = None
    try:
        import pytest  # noqa: F401 - loaded once, here, not on the first save

        from mi_exercise.runner import plugin  # noqa: F401

        files = {ex.slug: ws.learner_file(catalog, ex) for ex in catalog.exercises}
        stamps = {slug: file_stamp(p) for slug, p in files.items()}
        checked: dict[str, str | None] = {}  # slug -> digest of the content last checked
        state = WatchState(first)
        if console.is_terminal:
            from rich.live import Live

            live = Live(console=console, auto_refresh=False, transient=False)
            live.start()

        def show() -> None:
            view = verdict_view(state, ws, catalog)
            if live is not None:
                live.update(view, refresh=True)
            else:
                console.print(view)
                console.print("")
                console.file.flush()

        def check(ex: Exercise) -> None:
            state.exercise = ex
            path = files[ex.slug]
            state.error = ""
            if not path.exists():
                state.result, state.error = None, f"{path.name} is missing; `mi-exercise reset {ex.slug}` restores it"
                show()
                return
            checked[ex.slug] = content_digest(path)
            prefix = sandbox.prefix(*workspace_view(ws.root, path)) if sandbox else None
            result = run_check(ex, path, device=device, options=options, sandbox=prefix)
            if stopping["flag"]:
                raise Stop
            state.checks += 1
            state.result = result
            if not result.problem:
                ws.progress.record_attempt(result)
            state.note = ""
            nxt = None
            if result.passed:
                from mi_exercise.commands import next_exercise

                nxt = next_exercise(catalog, ws)
            if nxt is not None and nxt.slug != ex.slug:
                state.note = f"Passed! Moving on to {nxt.slug}."
                if live is None:
                    show()  # the passing verdict stays in the log
                state.exercise, state.result = nxt, None
                state.note = (f"✓ {ex.slug} passed. Next: {nxt.slug} ({nxt.title}): now watching "
                              f"{files[nxt.slug].relative_to(ws.root)}, edit it and save")
            show()

        check(first)
        while max_checks is None or state.checks < max_checks:
            time.sleep(poll)
            changed = []
            for slug, path in files.items():
                stamp = file_stamp(path)
                if stamp != stamps[slug]:
                    stamps[slug] = stamp
                    changed.append(slug)
            if not changed:
                continue
            # A save can touch a file twice (truncate, then write); a change seen during the
            # previous check may be one we already graded: re-check only new content.
            changed = [s for s in changed if s not in checked or content_digest(files[s]) != checked[s]]
            if not changed:
                continue
            slug = state.exercise.slug if state.exercise.slug in changed else changed[0]
            time.sleep(0.01)  # let an editor finish writing
            stamps[slug] = file_stamp(files[slug])
            check(catalog.get(slug))
    except (KeyboardInterrupt, Stop):
        pass
    finally:
        signal.signal(signal.SIGINT, previous)
        if live is not None:
            live.stop()
        if owned:
            warm.use(None)
            pool.close()
    console.print("[dim]watch stopped[/dim]")
    return 0
