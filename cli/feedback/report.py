"""Terminal feedback for a check: a few lines per failing test, no pytest noise unless -v.

A test that exercise.toml marks hidden (or after_due_date) shows its name and outcome only:
its message names inputs and expected values, so it is never printed, nor put in --json
(`learner_view`); the same rule as grade's learner files (`catalog.model.learner_sees`).
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from mi_exercise.catalog.model import learner_sees
from mi_exercise.runner.outcomes import Outcome

HIDDEN_NOTE = "{n} hidden test(s): messages not shown"

STYLE = {
    Outcome.PASSED: "green", Outcome.FAILED: "red", Outcome.ERROR: "red", Outcome.TIMEOUT: "yellow",
    Outcome.OUT_OF_MEMORY: "yellow", Outcome.CRASHED: "red", Outcome.EXITED: "yellow",
    Outcome.GRADER_ERROR: "magenta", Outcome.NOT_RUN: "dim",
}


def _clip(text: str, keep: int = 1500) -> str:
    """Its start (where a cut output says how much was printed) and its end."""
    if len(text) <= keep:
        return text
    return text[: keep // 2] + "\n[...]\n" + text[-keep // 2:]


def _indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _withheld(tests) -> list:
    return [t for t in tests if t.outcome is not Outcome.PASSED and not learner_sees(t.visibility)]


def learner_view(result) -> dict:
    """A check's result as JSON for the learner: a hidden test's message and output left out."""
    data = result.to_dict()
    withheld = {t.name for t in _withheld(result.tests)}
    for t in data["tests"]:
        if t["name"] in withheld:
            t["message"], t["output"] = "", ""
    data["hidden_not_shown"] = len(withheld)
    return data


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
        if not learner_sees(t.visibility):
            line.append("  (hidden test)", style="dim")
            console.print(line)
            continue
        console.print(line)
        if t.message:
            console.print(Text(_indent(t.message)))
        if t.output and (verbose or not first_failure_shown):
            console.print(Text(_indent("your code printed:\n" + _clip(t.output.rstrip())), style="dim"))
        if verbose and t.detail:
            console.print(Text(_indent(t.detail[-4000:]), style="dim"))
        first_failure_shown = True
    withheld = len(_withheld(result.tests))
    if withheld:
        console.print(Text("  " + HIDDEN_NOTE.format(n=withheld), style="dim"))
    if ok:
        console.print("  [green]All tests pass.[/green]" if not result.not_run
                      else f"  [green]All tests that ran pass[/green] ({len(result.not_run)} not run, see above).")
