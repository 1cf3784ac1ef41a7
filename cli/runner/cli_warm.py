"""The Click command for watch mode (registered in commands.py)."""

from __future__ import annotations

import sys

import click


@click.command("watch")
@click.argument("slug", required=False)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True,
              help="Where your code runs: auto picks CUDA, then MPS, then CPU.")
@click.option("--sandbox/--no-sandbox", "sandbox", default=None,
              help="Run your code sandboxed (the default wherever bubblewrap works; --sandbox insists).")
@click.option("--no-server", is_flag=True, help="Run here: do not hand the loop to this workspace's check server.")
@click.option("-C", "--workspace", "workspace_dir", type=click.Path(file_okay=False),
              help="Workspace folder (default: found from the current folder upwards).")
def watch_cmd(slug: str | None, device: str, sandbox: bool | None, no_server: bool, workspace_dir: str | None) -> None:
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
