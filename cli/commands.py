"""The `mi-exercise` command line: a thin Click layer over plain functions.

Commands parse options, call into catalog/, workspace/, runner/, progress/ and validate, and
print. Exit status: 0 success (all tests passed), 1 some test failed, 2 usage or
configuration error (unknown exercise, missing workspace or file, malformed exercise.toml).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from mi_exercise import __version__, paths
from mi_exercise.catalog.loader import CatalogError, load_catalog
from mi_exercise.catalog.model import Catalog, Exercise
from mi_exercise.workspace.workspace import Workspace, WorkspaceError, find_workspace, init_workspace

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class ConfigError(click.ClickException):
    """A problem with the set-up rather than the learner's code: exit status 2."""

    exit_code = EXIT_USAGE


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def get_catalog() -> Catalog:
    try:
        return load_catalog()
    except CatalogError as exc:
        raise ConfigError(f"the exercise catalog in {paths.describe_content_root()} is invalid: {exc}") from None


def get_workspace(directory: str | None) -> Workspace:
    try:
        return find_workspace(Path(directory) if directory else None)
    except WorkspaceError as exc:
        raise ConfigError(str(exc)) from None


def get_exercise(catalog: Catalog, slug: str) -> Exercise:
    if slug in catalog:
        return catalog.get(slug)
    close = catalog.suggest(slug)
    hint = f" Did you mean: {', '.join(close)}?" if close else " See `mi-exercise list`."
    raise ConfigError(f"unknown exercise '{slug}' in {paths.describe_content_root(catalog.root)}.{hint}")


def next_exercise(catalog: Catalog, ws: Workspace) -> Exercise | None:
    summary = ws.progress.summary()
    for ex in catalog.exercises:
        if not (summary.get(ex.slug) or {}).get("passed"):
            return ex
    return None


no_server_option = click.option(
    "--no-server", is_flag=True,
    help="Run here, cold: neither use nor start this workspace's check server (or set MI_EXERCISE_SERVER=off).")

workspace_option = click.option("-C", "--workspace", "workspace_dir", type=click.Path(file_okay=False),
                                help="Workspace folder (default: found from the current folder upwards).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mi-exercise")
def main() -> None:
    """Auto-graded exercises for mechanistic interpretability: tensors to induction heads.

    Start with `mi-exercise init my-work`, then `cd my-work` and `mi-exercise check`.
    """


def entry() -> None:
    """The console script of installs made before mi_exercise.launch: the same entry."""
    from mi_exercise.launch import entry as launch_entry

    launch_entry()


# -- learner commands ----------------------------------------------------------------------
@main.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=True))
def init_cmd(directory: str) -> None:
    """Create a workspace in DIRECTORY (default: here) with a stub for every exercise.

    Re-running adds only the stubs that are missing; your files are never overwritten.
    """
    catalog = get_catalog()
    try:
        ws, added, kept = init_workspace(Path(directory), catalog)
    except (WorkspaceError, OSError) as exc:
        raise ConfigError(str(exc)) from None
    out = console()
    out.print(f"Workspace: [bold]{ws.root}[/bold]")
    out.print(f"  {len(added)} stub(s) added, {len(kept)} existing file(s) kept")
    for path in added[:50]:
        out.print(f"  + {path.relative_to(ws.root)}")
    first = catalog.exercises[0] if catalog.exercises else None
    if first is not None and added:
        out.print(f"\nNext: open {ws.learner_file(catalog, first).relative_to(Path.cwd().resolve()) if ws.learner_file(catalog, first).is_relative_to(Path.cwd().resolve()) else ws.learner_file(catalog, first)}, "
                  f"fill in a function, then run `mi-exercise check {first.slug}`")


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def list_cmd(as_json: bool, workspace_dir: str | None) -> None:
    """List chapters and exercises in track order with your status."""
    catalog = get_catalog()
    try:
        ws = find_workspace(Path(workspace_dir) if workspace_dir else None)
        summary = ws.progress.summary()
    except WorkspaceError:
        if workspace_dir:
            raise ConfigError(f"no mi-exercise workspace at {workspace_dir}") from None
        ws, summary = None, {}
    rows = []
    for ex in catalog.exercises:
        info = summary.get(ex.slug)
        status = "not started" if not info else ("passed" if info["passed"] else "in progress")
        rows.append({"slug": ex.slug, "chapter": ex.chapter, "title": ex.title, "order": ex.order,
                     "status": status, "prerequisites": list(ex.prerequisites), "summary": ex.summary})
    if as_json:
        click.echo(json.dumps({"chapters": [{"id": c.id, "number": c.number, "title": c.title} for c in catalog.chapters],
                               "exercises": rows}, indent=2))
        return
    out = console()
    marks = {"passed": "[green]✓[/green]", "in progress": "[yellow]…[/yellow]", "not started": "[dim]·[/dim]"}
    for chapter in catalog.chapters:
        out.print(f"\n[bold]Chapter {chapter.number}: {chapter.title}[/bold]")
        for row in rows:
            if row["chapter"] == chapter.id:
                out.print(f"  {marks[row['status']]} {row['slug']:<34} {row['title']}")
    if ws is None:
        out.print("\n[dim]No workspace here: `mi-exercise init DIR` creates one.[/dim]")


@main.command("check")
@click.argument("slugs", nargs=-1)
@click.option("--all", "check_all", is_flag=True, help="Check every exercise.")
@click.option("--next", "check_next", is_flag=True, help="Check the first exercise not yet passed (the default).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True,
              help="Where your code runs: auto picks CUDA, then MPS, then CPU.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Show passing tests and the full grader report.")
@click.option("--full", is_flag=True, help="Grade model exercises at GPT-2 small's full shape.")
@click.option("--model", "model_name", default=None, help="Also grade against a pretrained model (gpt2) when present.")
@click.option("--sandbox/--no-sandbox", "sandbox", default=None,
              help="Run your code sandboxed (the default wherever bubblewrap works; --sandbox insists, "
                   "--no-sandbox runs it as you, with your files and network).")
@click.option("--ci", is_flag=True, help="For CI: write JUnit XML (--junit) and a Markdown step summary; missing files fail.")
@click.option("--junit", "junit_path", default="mi-exercise-junit.xml", show_default=True, type=click.Path(dir_okay=False),
              help="Where --ci writes its JUnit XML.")
@no_server_option
@workspace_option
def check_cmd(slugs, check_all, check_next, device, as_json, verbose, full, model_name, sandbox, ci, junit_path,
              no_server, workspace_dir) -> None:
    """Grade your code for SLUG(s) with the hidden grader."""
    from mi_exercise.runner.check import run_check
    from mi_exercise.site_builder.learner_results import save_check_figures

    if slugs and (check_all or check_next):
        raise click.UsageError("give exercise names, or --all, or --next, not several")
    if check_all and check_next:
        raise click.UsageError("--all and --next do not go together")
    catalog = get_catalog()
    ws = get_workspace(workspace_dir)
    if check_all:
        exercises = list(catalog.exercises)
    elif slugs:
        exercises = [get_exercise(catalog, s) for s in dict.fromkeys(slugs)]
    else:
        ex = next_exercise(catalog, ws)
        if ex is None:
            click.echo("Every exercise is passed. Well done!")
            return
        exercises = [ex]
    if device in ("cuda", "mps"):
        _require_device(device)
    files, missing = {}, {}
    for ex in exercises:
        try:
            files[ex.slug] = ws.find_learner_file(catalog, ex)
        except WorkspaceError as exc:
            if not check_all:
                raise ConfigError(str(exc)) from None
            missing[ex.slug] = str(exc)
    from mi_exercise.sandbox import workspace_view

    box = sandbox_for(sandbox)

    def prefix_for(path):
        if box is None:
            return None
        readable, hidden = workspace_view(ws.root, path)
        return box.prefix(readable=readable, hidden=hidden)
    out = console()
    results = []
    options = {"full": full, "model": model_name}
    for ex in exercises:
        if ex.slug not in files:
            if not as_json:
                out.print(f"[yellow]- {ex.slug}: no file in the workspace (run `mi-exercise init` to add it)[/yellow]")
            continue
        if files[ex.slug].is_relative_to(ws.state_dir) and not as_json:  # graded from a notebook
            out.print(f"[dim]Grading the solution cells of {ws.learner_file(catalog, ex).with_suffix('.ipynb').name}[/dim]")
        result = run_check(ex, files[ex.slug], device=device, options=options,
                           sandbox=prefix_for(files[ex.slug]))
        ws.progress.record_attempt(result)
        save_check_figures(ws.state_dir, result)
        results.append(result)
        if not as_json:
            render_check_result(out, result, verbose, ex)
    if ci:
        from mi_exercise.instructor.ci import write_ci_reports

        write_ci_reports(exercises, results, missing, Path(junit_path))
    if as_json:
        from mi_exercise.feedback.report import learner_view

        click.echo(json.dumps({"results": [learner_view(r) for r in results],
                               "passed": all(r.passed for r in results)}, indent=2))
    elif len(results) == 1 and results[0].passed:
        nxt = next_exercise(catalog, ws)
        if nxt is not None:
            out.print(f"\nNext: [bold]{nxt.slug}[/bold] ({nxt.title}): `mi-exercise check {nxt.slug}`")
    if not no_server and not ci:
        start_server_after_cold_check(ws, quiet=as_json)
    sys.exit(EXIT_OK if results and all(r.passed for r in results) and not (ci and missing) else EXIT_FAILED)


def start_server_after_cold_check(ws: Workspace, quiet: bool) -> None:
    """After a cold check, start the workspace's check server in the background (never in CI,
    never from a server's own child): the next check skips the imports. Nothing waits for it."""
    import os

    from mi_exercise import launch
    from mi_exercise.server.client import start_in_background

    if launch.IN_SERVER or os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return
    if start_in_background(ws.state_dir) and not quiet:
        click.echo("(started a check server in the background: later checks skip the imports; "
                   "`mi-exercise server stop` stops it, --no-server runs without it)", err=True)


def sandbox_for(flag: bool | None, command: str = "check"):
    """The sandbox a learner command runs learner code in: by default the one that works here,
    else None with a one-line notice on stderr; --sandbox insists (exit 2), --no-sandbox opts out."""
    from mi_exercise.sandbox import SandboxUnavailable, choose, mode_from_flags

    try:
        box, why = choose(mode_from_flags(flag))
    except SandboxUnavailable as exc:
        raise ConfigError(f"--sandbox: {exc}. mi-exercise never falls back to running your code unsandboxed "
                          f"when --sandbox is given; run `mi-exercise {command} --no-sandbox` to run it as you.") from None
    if box is None and flag is None:
        click.echo(f"(running unsandboxed: {why})", err=True)
    return box


def render_check_result(out: Console, result, verbose: bool, ex: Exercise) -> None:
    from mi_exercise.feedback.report import render_check

    render_check(out, result, verbose=verbose, title=f"{ex.slug}: {ex.title}")
    if not result.passed and ex.hints:
        out.print(f"  [dim]Stuck? `mi-exercise hint {ex.slug}`[/dim]")


def _require_device(device: str) -> None:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA GPU is available here (use --device auto or cpu)")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("--device mps: Apple's MPS is not available here (use --device auto or cpu)")


@main.command("hint")
@click.argument("slug")
@workspace_option
def hint_cmd(slug: str, workspace_dir: str | None) -> None:
    """Show the next hint for SLUG (hints go from a nudge to almost the answer)."""
    catalog = get_catalog()
    ws = get_workspace(workspace_dir)
    ex = get_exercise(catalog, slug)
    if not ex.hints:
        click.echo(f"{slug} has no hints.")
        return
    level = ws.progress.take_hint(slug, len(ex.hints))
    out = console()
    if level is None:
        out.print(f"All {len(ex.hints)} hints for {slug} are shown:")
        for i, hint in enumerate(ex.hints, 1):
            out.print(f"  [bold]{i}.[/bold] {escape(hint)}")
        return
    for i in range(level):
        out.print(f"[dim]  {i + 1}. {escape(ex.hints[i])}[/dim]")
    out.print(f"[bold]Hint {level + 1}/{len(ex.hints)}:[/bold] {escape(ex.hints[level])}")


@main.command("solution")
@click.argument("slug")
@click.option("-y", "--yes", is_flag=True, help="Before a pass: show it without asking (for scripts).")
@workspace_option
def solution_cmd(slug: str, yes: bool, workspace_dir: str | None) -> None:
    """Show the reference solution for SLUG: at once after you pass it; before that only when you
    confirm (or pass --yes), and `progress` then says you saw it before passing."""
    from mi_exercise.feedback.solution_view import SolutionUnavailable, reference_solution, render_solution

    catalog = get_catalog()
    ws = get_workspace(workspace_dir)
    ex = get_exercise(catalog, slug)
    try:
        text = reference_solution(ex)
    except SolutionUnavailable as exc:
        raise ConfigError(str(exc)) from None
    passed = bool((ws.progress.summary().get(slug) or {}).get("passed"))
    if not passed and not yes:
        if not sys.stdin.isatty():
            raise ConfigError(f"you have not passed {slug} yet; refusing to show its solution without confirmation "
                              "(pass --yes). It is recorded in your progress like a hint.")
        click.confirm(f"You have not passed {slug} yet. Show the whole reference solution? "
                      "(recorded in your progress, like a hint)", abort=True)
    ws.progress.record_solution_view(slug, before_pass=not passed)
    render_solution(console(), ex, text)


@main.command("progress")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--history", default=10, show_default=True, help="How many recent attempts to show.")
@workspace_option
def progress_cmd(as_json: bool, history: int, workspace_dir: str | None) -> None:
    """Your progress along the track, chapter by chapter, and your recent attempts."""
    from mi_exercise.progress.report import progress_data, render_progress

    catalog = get_catalog()
    ws = get_workspace(workspace_dir)
    data = progress_data(catalog, ws.progress, history=history)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        render_progress(console(), data)


@main.command("reset")
@click.argument("slug")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@workspace_option
def reset_cmd(slug: str, yes: bool, workspace_dir: str | None) -> None:
    """Restore the stub for SLUG (your file is backed up first)."""
    from mi_exercise.workspace.workspace import reset_exercise

    catalog = get_catalog()
    ws = get_workspace(workspace_dir)
    ex = get_exercise(catalog, slug)
    target = ws.learner_file(catalog, ex)
    if target.exists() and not yes:
        if not sys.stdin.isatty():
            raise ConfigError(f"refusing to replace {target} without confirmation; pass --yes")
        click.confirm(f"Replace {target} with a fresh stub? (a backup is kept)", abort=True)
    backup = reset_exercise(ws, catalog, ex)
    click.echo(f"Restored the stub at {target}")
    if backup:
        click.echo(f"Your previous file is saved as {backup}")


# -- instructor commands -------------------------------------------------------------------
@main.command("validate")
@click.argument("slugs", nargs=-1)
@click.option("--all", "validate_all", is_flag=True, help="Validate every exercise.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="cpu", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: every trial, test and message.")
@click.option("-v", "--verbose", is_flag=True,
              help="Every trial of every exercise: the tests that caught it, their visibility, full messages.")
@click.option("--sandbox/--no-sandbox", "sandbox", default=None,
              help="Run solutions, stubs, mutants and alternatives sandboxed (the default wherever bubblewrap works).")
@no_server_option
def validate_cmd(slugs, validate_all, device, as_json, verbose, sandbox, no_server) -> None:
    """Prove each grader passes its solution and alternatives and rejects its stub and every mutant.

    One line per exercise when everything holds; details for what does not."""
    from mi_exercise.pages.markdown_page import render_page_markdown
    from mi_exercise.validate import report_lines, validate_exercise

    if slugs and validate_all:
        raise click.UsageError("give exercise names or --all, not both")
    if not slugs and not validate_all:
        raise click.UsageError("name the exercises to validate, or pass --all")
    catalog = get_catalog()
    exercises = list(catalog.exercises) if validate_all else [get_exercise(catalog, s) for s in dict.fromkeys(slugs)]
    if device in ("cuda", "mps"):
        _require_device(device)
    results = []
    from mi_exercise.runner.warm import start_in_process  # one warm worker for all the runs

    box = sandbox_for(sandbox, "validate")
    import shutil
    import tempfile

    from mi_exercise.sandbox import content_view

    scratch = Path(tempfile.mkdtemp(prefix="mi-exercise-validate-"))  # solution + override modules
    pool = start_in_process(box, readable=[*content_view(), scratch]) if box else start_in_process()
    ctx = click.get_current_context()
    ctx.call_on_close(lambda: shutil.rmtree(scratch, ignore_errors=True))
    ctx.call_on_close(pool.close)
    for ex in exercises:
        v = validate_exercise(ex, device=device, render_page=render_page_markdown, sandbox=box, scratch=scratch)
        results.append(v)
        if not as_json:
            click.echo("\n".join(report_lines(v, verbose=verbose)))
    ok = all(v.ok for v in results)
    if as_json:
        click.echo(json.dumps({"ok": ok, "exercises": [v.to_dict() for v in results]}, indent=2))
    else:
        bad = [v.exercise.slug for v in results if not v.ok]
        warned = sum(len(v.warnings) for v in results)
        click.echo(f"\n{len(results) - len(bad)}/{len(results)} exercises valid"
                   + (f"; failing: {', '.join(bad)}" if bad else "")
                   + (f"; {warned} warning(s)" if warned else ""))
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


# -- site and notebooks (mi_exercise.site_builder) ------------------------------------------
from mi_exercise.site_builder.commands import notebook_cmd, site_group  # noqa: E402

main.add_command(site_group)
main.add_command(notebook_cmd)

# -- watch mode (mi_exercise.runner) and the check server (mi_exercise.server) -------------------------------------
from mi_exercise.runner.cli_warm import watch_cmd  # noqa: E402
from mi_exercise.server.commands import server_cmd, worker_cmd  # noqa: E402

main.add_command(watch_cmd)
main.add_command(server_cmd)
main.add_command(worker_cmd)

# -- instructor and CI commands (cli/instructor/) ----------------------------------------------
from mi_exercise.instructor.commands import grade_cmd, merge_cmd, new_cmd  # noqa: E402

main.add_command(new_cmd)
main.add_command(grade_cmd)
main.add_command(merge_cmd)

if __name__ == "__main__":
    main()
