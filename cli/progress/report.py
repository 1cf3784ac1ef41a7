"""`progress`: the track chapter by chapter with bars, what is next, and recent attempts."""

from __future__ import annotations

from rich.console import Console


def progress_data(catalog, store, history: int = 10) -> dict:
    summary = store.summary()
    chapters, next_slug = [], None
    for chapter in catalog.chapters:
        items = []
        for ex in catalog.in_chapter(chapter.id):
            info = summary.get(ex.slug)
            status = "not started" if not info else ("passed" if info["passed"] else "in progress")
            if status != "passed" and next_slug is None:
                next_slug = ex.slug
            items.append({"slug": ex.slug, "title": ex.title, "status": status,
                          "attempts": info["attempts"] if info else 0,
                          "best_tests_passed": info["best"] if info else 0,
                          "tests_total": info["total"] if info else None,
                          "latest_tests_passed": info["latest"] if info else None,
                          "latest_status": info["latest_status"] if info else None,
                          "hints_used": store.hints_used(ex.slug),
                          "solution_seen": store.solution_seen(ex.slug)})
        chapters.append({"id": chapter.id, "number": chapter.number, "title": chapter.title,
                         "passed": sum(i["status"] == "passed" for i in items), "total": len(items),
                         "exercises": items})
    total = sum(c["total"] for c in chapters)
    passed = sum(c["passed"] for c in chapters)
    return {"passed": passed, "total": total, "next": next_slug, "chapters": chapters,
            "history": store.attempts(limit=history)}


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def render_progress(out: Console, data: dict) -> None:
    out.print(f"[bold]Track progress: {data['passed']}/{data['total']} exercises passed[/bold]")
    marks = {"passed": "[green]✓[/green]", "in progress": "[yellow]…[/yellow]", "not started": "[dim]·[/dim]"}
    for c in data["chapters"]:
        out.print(f"\n[bold]Chapter {c['number']}: {c['title']}[/bold]  "
                  f"[green]{_bar(c['passed'], c['total'])}[/green] {c['passed']}/{c['total']}")
        for e in c["exercises"]:
            parts = []
            if e["attempts"]:
                style = "green" if e["latest_status"] == "passed" else "red"
                # the latest beside the best: a file broken since its best attempt shows here
                parts += [f"[dim]{e['attempts']} attempt(s), best {e['best_tests_passed']}/{e['tests_total']} tests[/dim]",
                          f"[dim]latest:[/dim] [{style}]{e['latest_tests_passed']}/{e['tests_total']} "
                          f"{e['latest_status']}[/{style}]"]
            if e["hints_used"]:
                parts.append(f"[dim]{e['hints_used']} hint(s)[/dim]")
            if e["solution_seen"]:
                parts.append(f"[dim]solution seen {e['solution_seen']}[/dim]")
            extra = ("  " + "[dim], [/dim]".join(parts)) if parts else ""
            out.print(f"  {marks[e['status']]} {e['slug']:<34}{extra}")
    if data["next"]:
        out.print(f"\nNext: [bold]{data['next']}[/bold]  (`mi-exercise check {data['next']}`)")
    else:
        out.print("\n[green]Every exercise is passed.[/green]")
    if data["history"]:
        out.print("\n[bold]Recent attempts[/bold]")
        for a in data["history"]:
            style = "green" if a["status"] == "passed" else "red"
            out.print(f"  {a['started_at']}  {a['exercise']:<30} [{style}]{a['status']:<12}[/{style}] "
                      f"{a['tests_passed']}/{a['tests_total']} tests  {a['seconds']:.1f}s  {a['device']}")
