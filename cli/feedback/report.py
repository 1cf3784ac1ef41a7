"""Terminal feedback for a check: a few lines per failing test, no pytest noise unless -v."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from mi_exercise.runner.outcomes import Outcome

STYLE = {
    Outcome.PASSED: "green", Outcome.FAILED: "red", Outcome.ERROR: "red", Outcome.TIMEOUT: "yellow",
    Outcome.OUT_OF_MEMORY: "yellow", Outcome.CRASHED: "red", Outcome.EXITED: "yellow",
    Outcome.GRADER_ERROR: "magenta", Outcome.NOT_RUN: "dim",
}


def _indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def render_check(console: Console, result, *, verbose: bool = False, title: str = "") -> None:
    ok = result.passed
    head = Text()
    head.append("✓ " if ok else "✗ ", style="bold green" if ok else "bold red")
    head.append(title or result.slug, style="bold")
    head.append(f"  {result.n_passed}/{result.n_ran} tests passed", style="green" if ok else "red")
    if result.not_run:
        head.append(f"  ·  {len(result.not_run)} not run", style="dim")
    if result.max_points:
        head.append(f"  ·  {result.points:g}/{result.max_points:g} points")
    head.append(f"  ·  {result.device}  ·  {result.seconds:.1f}s", style="dim")
    console.print(head)
    if result.problem:
        console.print(Text(_indent(result.problem), style="magenta"))
    first_failure_shown = False
    for t in result.not_run:  # neither pass nor failure, but the learner must know what was not judged
        console.print(Text(f"  {t.outcome.symbol} {t.name}  not run (not counted)", style="dim"))
        console.print(Text(_indent(t.message.strip() or "the grader gave no reason")))
    for t in result.tests:
        if t.outcome is Outcome.NOT_RUN:
            continue
        if t.outcome is Outcome.PASSED:
            if verbose:
                console.print(Text(f"  ✓ {t.name}  ({t.seconds:.2f}s)", style="green"))
            continue
        line = Text(f"  {t.outcome.symbol} {t.name}  ", style=STYLE[t.outcome])
        line.append(t.outcome.value, style="bold " + STYLE[t.outcome])
        console.print(line)
        if t.message:
            console.print(Text(_indent(t.message)))
        if t.output and (verbose or not first_failure_shown):
            console.print(Text(_indent("your code printed:\n" + t.output.rstrip()[-1500:]), style="dim"))
        if verbose and t.detail:
            console.print(Text(_indent(t.detail[-4000:]), style="dim"))
        first_failure_shown = True
    if ok:
        console.print("  [green]All tests pass.[/green]" if not result.not_run
                      else f"  [green]All tests that ran pass[/green] ({len(result.not_run)} not run, see above).")
