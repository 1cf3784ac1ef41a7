"""Click commands for instructors and CI: `new`, `grade`, `merge`. Thin: parse, call, print."""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageProblem(click.ClickException):
    exit_code = EXIT_USAGE


@click.command("new")
@click.argument("slug")
@click.option("--chapter", default=None, help="Chapter id (see exercises/chapters.toml); with --like, that exercise's.")
@click.option("--title", default=None, help="Title (default: from the slug).")
@click.option("--like", "like", default=None, metavar="OTHER",
              help="Copy the shape of exercise OTHER: needs, device, limits, points, and a model example when its grader uses the shipped model.")
def new_cmd(slug: str, chapter: str | None, title: str | None, like: str | None) -> None:
    """Scaffold exercise SLUG in CHAPTER: metadata, stub, page, grader, solution, mutants.

    The scaffold passes `mi-exercise validate SLUG` as written; then make it your exercise
    (docs/authoring.md). Existing files are never overwritten.
    """
    from mi_exercise import paths
    from mi_exercise.catalog.loader import load_catalog
    from mi_exercise.instructor.scaffold import ScaffoldError, fixtures_used, new_exercise, shape_of

    try:
        written = new_exercise(slug, chapter, title=title, like=like)
    except ScaffoldError as exc:
        raise UsageProblem(str(exc)) from None
    root = paths.content_root()
    catalog = load_catalog(root)
    ex = catalog.get(slug)
    if like:
        other = catalog.get(like)
        click.echo(f"Shaped like {like} ({shape_of(other)} exercise): needs {list(other.needs) or 'nothing'}, "
                   f"device {other.device}, its limits and default points; its grader uses the fixtures "
                   f"{', '.join(fixtures_used(other))}.")
    chapter = ex.chapter
    click.echo(f"Created exercise {slug} in chapter {chapter}:")
    for path in written:
        click.echo(f"  + {path.relative_to(root) if path.is_relative_to(root) else path}")
    click.echo(f"Next: `mi-exercise validate {slug}`, then edit the files (see docs/authoring.md).")


@click.command("grade")
@click.argument("submissions", nargs=-1, type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the results.")
@click.option("--jobs", default=1, show_default=True, type=int, help="Submissions graded at the same time.")
@click.option("--shard", default=None, help="K/N: grade only the K-th of N slices of the class (for a CI matrix).")
@click.option("--exercises", "exercise_list", default=None,
              help="Comma-separated slugs (default: for each submission, the exercises whose files it holds).")
@click.option("--sandbox/--no-sandbox", "sandbox", default=True, show_default=True,
              help="Run learner code sandboxed (bubblewrap: no network, graders, other submissions and --out "
                   "invisible). Without a sandbox grade refuses to run unless --no-sandbox is given, which the "
                   "summary then states.")
@click.option("--device", type=click.Choice(["cpu", "auto", "cuda", "mps"]), default="cpu", show_default=True)
@click.option("--no-server", is_flag=True, help="Run here, not in this workspace's check server (or MI_EXERCISE_SERVER=off).")
def grade_cmd(submissions, out_dir, jobs, shard, exercise_list, sandbox, device, no_server) -> None:
    """Grade SUBMISSIONS (workspace folders, git checkouts, .zip files, .ipynb notebooks).

    Each submission is graded against the exercises whose files it holds (a notebook: the
    exercises its cells name), unless --exercises names them.

    Writes OUT/submissions/<id>/{result.json, results.json (Gradescope), junit.xml, feedback.md}
    and the class summary OUT/summary.json, summary.md and junit.xml. Exit status 0 when every
    submission could be graded (whatever its score), 1 when some could not, 2 on a usage error.
    """
    from mi_exercise.commands import get_catalog
    from mi_exercise.instructor.batch import GradeError, grade_class, parse_shard, select_exercises
    from mi_exercise.sandbox import SandboxUnavailable

    if not submissions:
        raise UsageProblem("name at least one submission (a folder, a .zip or an .ipynb)")
    catalog = get_catalog()
    try:
        k_n = parse_shard(shard)
        exercises = select_exercises(catalog, exercise_list)

        def progress(rec):
            click.echo(f"  {rec['id']}: {rec['score']:g}/{rec['max_score']:g}"
                       + (f"  (error: {rec['error'][:120]})" if rec["status"] == "error" else ""), err=True)

        summary = grade_class([Path(s) for s in submissions], Path(out_dir), catalog, exercises, jobs=jobs,
                              shard=k_n, sandbox=sandbox, device=device, progress=progress,
                              held_only=not exercise_list)
    except GradeError as exc:
        raise UsageProblem(str(exc)) from None
    except SandboxUnavailable as exc:
        raise UsageProblem(f"grade runs learner code only sandboxed, and no sandbox works here: {exc}. "
                           "Grade on a machine where bubblewrap works, or pass --no-sandbox to run every "
                           "submission as you (the summary then says so).") from None
    click.echo(f"Graded {summary['submissions']} submission(s) into {out_dir} "
               f"({summary['errors']} could not be graded{'' if sandbox else '; UNSANDBOXED (--no-sandbox)'}); "
               f"summary: {Path(out_dir) / 'summary.md'}")
    sys.exit(EXIT_FAILED if summary["errors"] else EXIT_OK)


@click.command("merge")
@click.argument("dirs", nargs=-1, type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
def merge_cmd(dirs, out_dir) -> None:
    """Join the --out folders of `grade --shard K/N` runs into one, with one class summary."""
    from mi_exercise.instructor.batch import GradeError, merge_dirs

    if not dirs:
        raise UsageProblem("name the shard folders to merge")
    try:
        summary = merge_dirs([Path(d) for d in dirs], Path(out_dir))
    except GradeError as exc:
        raise UsageProblem(str(exc)) from None
    click.echo(f"Merged {len(dirs)} folder(s): {summary['submissions']} submission(s) into {out_dir}")
    sys.exit(EXIT_FAILED if summary["errors"] else EXIT_OK)
