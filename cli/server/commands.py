"""`mi-exercise server start|status|stop` (and `worker`, its older name)."""

from __future__ import annotations

import sys

import click

_ws_option = click.option("-C", "--workspace", "workspace_dir", type=click.Path(file_okay=False),
                          help="Workspace folder (default: found from the current folder upwards).")


def _state_dir(workspace_dir):
    from mi_exercise import commands as c

    return c.get_workspace(workspace_dir).state_dir


def _start(workspace_dir, wait: bool) -> None:
    from mi_exercise.server import control

    try:
        info = control.start(_state_dir(workspace_dir), wait=wait)
    except control.ServerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(("already: " if info.get("already") else "") + control.describe(info))


def _status(workspace_dir) -> None:
    from mi_exercise.server import control

    info = control.status(_state_dir(workspace_dir))
    click.echo(control.describe(info))
    sys.exit(0 if info["state"] == "running" else 1)


def _stop(workspace_dir) -> None:
    from mi_exercise.server import control

    click.echo("check server stopped" if control.stop(_state_dir(workspace_dir)) else "no check server was running")


@click.group("server")
def server_cmd() -> None:
    """The check server: keeps this workspace's checks warm (torch, pytest, the graders'
    libraries, a sandboxed warm worker), so a check costs your code's time, not the imports.

    `check` starts it in the background after a cold check; it stops after 15 idle minutes and
    when mi-exercise or the course changes. Each check still runs in a fresh trusted process
    and a fresh worker. Opt out with `--no-server` or MI_EXERCISE_SERVER=off.
    """


@server_cmd.command("start")
@click.option("--no-wait", is_flag=True, help="Return at once instead of waiting until it answers.")
@_ws_option
def server_start(no_wait, workspace_dir) -> None:
    """Start the check server (and wait until it is warm)."""
    _start(workspace_dir, wait=not no_wait)


@server_cmd.command("status")
@_ws_option
def server_status(workspace_dir) -> None:
    """Say whether the check server runs (exit 0) or not (exit 1)."""
    _status(workspace_dir)


@server_cmd.command("stop")
@_ws_option
def server_stop(workspace_dir) -> None:
    """Stop the check server (a command it is running is interrupted)."""
    _stop(workspace_dir)


@click.group("worker", hidden=True)
def worker_cmd() -> None:
    """The warm worker is now part of the check server: `mi-exercise server start|status|stop`."""


@worker_cmd.command("start")
@click.option("--sandbox/--no-sandbox", "sandbox", default=None, hidden=True,
              help="Ignored: the server's warm worker is sandboxed wherever bubblewrap works.")
@_ws_option
def worker_start(sandbox, workspace_dir) -> None:
    """Start the check server (its warm worker included)."""
    _start(workspace_dir, wait=True)


@worker_cmd.command("status")
@_ws_option
def worker_status(workspace_dir) -> None:
    """Say whether the check server runs."""
    _status(workspace_dir)


@worker_cmd.command("stop")
@_ws_option
def worker_stop(workspace_dir) -> None:
    """Stop the check server."""
    _stop(workspace_dir)
