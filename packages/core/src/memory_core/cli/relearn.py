"""``memory-core relearn``: run pattern extraction again over stored episodes."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import TaskID

from memory_core.cli._common import console, err_console, make_progress, open_memory
from memory_core.errors import InvalidInputError

__all__ = ["relearn_command"]


def relearn_command(
    ctx: typer.Context,
    pending_only: Annotated[
        bool,
        typer.Option(help="Only episodes whose extraction never ran (e.g. after a crash)."),
    ] = False,
    rebuild: Annotated[
        bool,
        typer.Option(
            help="Delete the stored patterns and heuristics first and learn them again from "
            "scratch (patterns that come back keep their effectiveness record)."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --rebuild.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Episodes read per query.")] = 500,
) -> None:
    """Run pattern extraction again over stored episodes (e.g. after installing a plugin).

    By default every completed episode is learned from again and the results merge into the
    stored patterns: patterns from newly installed extractors appear, and an episode already
    counted in a pattern or heuristic is never counted twice, so running it again changes
    nothing. --rebuild deletes the stored patterns and heuristics first and learns them again
    from scratch (patterns that come back keep their effectiveness record); --pending-only
    just finishes extraction that never ran.
    """
    if pending_only and rebuild:
        raise InvalidInputError("--pending-only and --rebuild cannot be combined; pick one")
    if rebuild and not yes:
        typer.confirm(
            "Delete every stored pattern and heuristic of this namespace and learn them again?",
            abort=True,
        )
    with open_memory(ctx, learns=True) as memory, make_progress("episodes") as bar:
        task: TaskID | None = None

        def progress(done: int, total: int) -> None:
            nonlocal task
            if task is None:
                task = bar.add_task("re-learning", total=total)
            bar.update(task, completed=done)

        report = memory.relearn(
            pending_only=pending_only, rebuild=rebuild, progress=progress, batch_size=batch_size
        )
    total, seconds = report.episodes_total, report.seconds
    console.print(
        f"Re-learned {total:,} episodes of namespace {report.namespace!r} in {seconds:.2f} s "
        f"({total / max(seconds, 1e-9):,.0f} episodes/s); patterns: {report.patterns_before:,} "
        f"before, {report.patterns_after:,} now."
    )
    deleted = (
        f"{report.patterns_deleted:,} patterns and {report.heuristics_deleted:,} heuristics "
        "deleted first; "
        if report.rebuild
        else ""
    )
    console.print(
        f"{deleted}patterns {report.patterns_created:,} created, "
        f"{report.patterns_updated:,} updated; heuristics {report.heuristics_created:,} created, "
        f"{report.heuristics_updated:,} updated ({report.heuristics_after:,} now)."
    )
    if report.episodes_failed > 0:
        err_console.print(
            f"warning: extraction failed for {report.episodes_failed} episodes (see the logs)"
        )
