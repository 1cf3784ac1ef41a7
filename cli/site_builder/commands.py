"""Click commands `site build|serve` and `notebook`, registered by mi_exercise.commands."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

EXIT_USAGE = 2


class SiteConfigError(click.ClickException):
    exit_code = EXIT_USAGE


def _catalog():
    from mi_exercise.commands import get_catalog

    return get_catalog()


def _workspace(directory: str | None, required: bool):
    from mi_exercise.workspace.workspace import WorkspaceError, find_workspace

    try:
        return find_workspace(Path(directory) if directory else None)
    except WorkspaceError as exc:
        if required or directory:
            raise SiteConfigError(str(exc)) from None
        return None


def build_once(out: Path, workspace_dir: str | None, quiet: bool = False, *, public: bool = False, hints: bool = True):
    from mi_exercise.site_builder.build import SiteError, build_site

    if public and workspace_dir:
        raise SiteConfigError("--public builds a site without anyone's progress: leave out --workspace")
    ws = None if public else _workspace(workspace_dir, required=False)
    try:
        result = build_site(_catalog(), out, ws, public=public, hints=hints)
    except SiteError as exc:
        raise SiteConfigError(str(exc)) from None
    if not quiet:
        where = ("for the public (no progress" + ("" if hints else ", no hints") + ")" if public
                 else f"with the progress of {ws.root}" if ws else "without a workspace (no progress shown)")
        if not public and not hints:
            where += ", without hints"
        click.echo(f"Built {len(result.pages)} page(s) in {out} {where}")
        click.echo(f"Open {(out / 'index.html').resolve().as_uri()}")
    return result


workspace_option = click.option("-C", "--workspace", "workspace_dir", type=click.Path(file_okay=False),
                                help="Workspace whose progress to show (default: found from the current folder "
                                     "upwards; none: pages without progress).")


@click.group("site")
def site_group() -> None:
    """The exercises as a static website, with your progress."""


@site_group.command("build")
@click.option("--out", "out", default="_site", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write the site to (index.html, exercises/, assets/).")
@click.option("--public", is_flag=True, help="A site for a course's web page: no progress, no last check, no workspace.")
@click.option("--hints/--no-hints", default=True, show_default=True, help="Put the exercises' hints in the pages.")
@workspace_option
def site_build_cmd(out: str, workspace_dir: str | None, public: bool, hints: bool) -> None:
    """Build the site: an index of the track with your progress, one page per exercise.

    It works opened from disk and makes no request to any other host. --public builds it for
    anyone (a course's web page), without progress widgets; --no-hints leaves the hints out.
    """
    build_once(Path(out), workspace_dir, public=public, hints=hints)


@site_group.command("serve")
@click.option("--out", "out", default="_site", show_default=True, type=click.Path(file_okay=False))
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--interval", default=1.0, show_default=True, type=float, help="Seconds between checks for changes.")
@workspace_option
def site_serve_cmd(out: str, port: int, interval: float, workspace_dir: str | None) -> None:
    """Serve the site on http://127.0.0.1:PORT and rebuild it when content or progress changes."""
    import functools
    import http.server
    import threading

    from mi_exercise.site_builder.serve import change_signature

    out_dir = Path(out).resolve()
    build_once(out_dir, workspace_dir)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the terminal for build messages
            pass

    handler = functools.partial(Handler, directory=str(out_dir))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise SiteConfigError(f"cannot listen on 127.0.0.1:{port}: {exc}") from None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    click.echo(f"Serving on http://127.0.0.1:{server.server_address[1]}/ (Ctrl+C stops)", err=False)
    sys.stdout.flush()
    ws = _workspace(workspace_dir, required=False)
    signature = change_signature(ws)
    try:
        while True:
            time.sleep(max(0.2, interval))
            now = change_signature(ws)
            if now != signature:
                signature = now
                try:
                    build_once(out_dir, workspace_dir, quiet=True)
                    click.echo(f"{time.strftime('%H:%M:%S')} rebuilt")
                except click.ClickException as exc:
                    click.echo(f"{time.strftime('%H:%M:%S')} build failed: {exc.message}", err=True)
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


@click.command("notebook")
@click.argument("slug", required=False)
@click.option("--all", "all_", is_flag=True, help="A notebook for every exercise.")
@click.option("--out", "out", default=None, type=click.Path(file_okay=False),
              help="Folder for the notebooks (default: next to your .py files in the workspace, where "
                   "`mi-exercise check` grades them; without a workspace: ./notebooks).")
@click.option("--force", is_flag=True, help="Overwrite notebooks that exist (your work in them is lost).")
@workspace_option
def notebook_cmd(slug: str | None, all_: bool, out: str | None, force: bool, workspace_dir: str | None) -> None:
    """Write a Jupyter notebook for SLUG (or --all): the page, the stub cells, a check cell.

    Cells tagged "solution" are what `mi-exercise check` grades when the notebook is newer than
    your .py file. Existing notebooks are kept unless --force.
    """
    from mi_exercise.commands import get_exercise
    from mi_exercise.pages.markdown_page import PageError
    from mi_exercise.site_builder.notebook import write_notebook
    from mi_exercise.site_builder.stubinfo import StubError

    if bool(slug) == bool(all_):
        raise click.UsageError("give one exercise SLUG or --all")
    catalog = _catalog()
    exercises = list(catalog.exercises) if all_ else [get_exercise(catalog, slug)]
    ws = None if out else _workspace(workspace_dir, required=False)
    written, kept = 0, 0
    for ex in exercises:
        if out:
            target = Path(out) / f"{ex.module_name}.ipynb"
        elif ws is not None:
            target = ws.learner_file(catalog, ex).with_suffix(".ipynb")
        else:
            target = Path("notebooks") / f"{ex.module_name}.ipynb"
        if target.exists() and not force:
            click.echo(f"kept {target} (exists; --force overwrites it)")
            kept += 1
            continue
        try:
            write_notebook(ex, target)
        except (PageError, StubError) as exc:
            raise SiteConfigError(str(exc)) from None
        except OSError as exc:
            raise SiteConfigError(f"cannot write {target}: {exc}") from None
        click.echo(f"wrote {target}")
        written += 1
    click.echo(f"{written} notebook(s) written, {kept} kept")
