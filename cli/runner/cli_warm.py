"""Click commands for watch mode and the warm-worker daemon (registered in commands.py)."""

from __future__ import annotations

import sys

import click


@click.command("watch")
@click.argument("slug", required=False)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True,
              help="Where your code runs: auto picks CUDA, then MPS, then CPU.")
@click.option("--sandbox/--no-sandbox", "sandbox", default=None,
              help="Run your code sandboxed (the default wherever bubblewrap works; --sandbox insists).")
@click.option("-C", "--workspace", "workspace_dir", type=click.Path(file_okay=False),
              help="Workspace folder (default: found from the current folder upwards).")
def watch_cmd(slug: str | None, device: str, sandbox: bool | None, workspace_dir: str | None) -> None:
    """Re-check the exercise you are editing every time you save (Ctrl-C stops).

    Starts with SLUG (default: the first exercise not yet passed) and moves on to the next
    one when it passes. Every check is recorded in your progress, as with `check`.
    """
    from mi_exercise import commands as c
    from mi_exercise.runner.watch import run_watch

    catalog = c.get_catalog()
    ws = c.get_workspace(workspace_dir)
    first = c.get_exercise(catalog, slug) if slug else c.next_exercise(catalog, ws)
    if first is None:
        click.echo("Every exercise is passed. Well done!")
        return
    if device in ("cuda", "mps"):
        c._require_device(device)
    box = c.sandbox_for(sandbox, "watch")
    sys.exit(run_watch(catalog, ws, first, console=c.console(), device=device, sandbox=box))


@click.group("worker")
def worker_cmd() -> None:
    """A warm worker for this workspace: `check` skips the torch import while it runs."""


def _state_dir(workspace_dir):
    from mi_exercise import commands as c

    return c.get_workspace(workspace_dir).state_dir


_ws_option = click.option("-C", "--workspace", "workspace_dir", type=click.Path(file_okay=False),
                          help="Workspace folder (default: found from the current folder upwards).")


@worker_cmd.command("start")
@click.option("--sandbox/--no-sandbox", "sandbox", default=None,
              help="Start it sandboxed (the default wherever bubblewrap works; --sandbox insists).")
@_ws_option
def worker_start(sandbox, workspace_dir) -> None:
    """Start the warm worker (a process with torch imported that forks one worker per check)."""
    from mi_exercise import commands as c
    from mi_exercise.runner.warm import start_daemon
    from mi_exercise.sandbox import workspace_view

    state_dir = _state_dir(workspace_dir)
    box = c.sandbox_for(sandbox, "worker start")
    readable, hidden = workspace_view(state_dir.parent)
    try:
        state = start_daemon(state_dir, box, readable, hidden)
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"warm worker {'already ' if state.get('already') else ''}running (pid {state['pid']}"
               f"{', sandboxed' if state.get('sandboxed') else ', unsandboxed'})")


@worker_cmd.command("stop")
@_ws_option
def worker_stop(workspace_dir) -> None:
    """Stop the warm worker."""
    from mi_exercise.runner.warm import stop_daemon

    click.echo("warm worker stopped" if stop_daemon(_state_dir(workspace_dir)) else "no warm worker was running")


@worker_cmd.command("status")
@_ws_option
def worker_status(workspace_dir) -> None:
    """Say whether the warm worker runs (exit 0) or not (exit 1)."""
    from mi_exercise.runner.warm import daemon_state, fork_count

    state = daemon_state(_state_dir(workspace_dir))
    click.echo(f"warm worker running (pid {state['pid']}, {fork_count(state)} workers forked)"
               if state else "no warm worker running")
    sys.exit(0 if state else 1)
