"""``memory-core export FILE`` and ``memory-core import FILE``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from memory_core.cli._common import console, err_console, make_progress, open_memory
from memory_core.errors import InvalidInputError
from memory_core.portability import (
    ExportCounts,
    ExportHeader,
    export_jsonl,
    import_jsonl,
)

__all__ = ["export_command", "import_command"]

_MAX_BAD_LINES_SHOWN = 20


def export_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write the JSON Lines export.")],
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite FILE.")] = False,
) -> None:
    """Export the namespace (episodes, steps, patterns, heuristics) to a JSON Lines file."""
    if file.exists() and not force:
        raise InvalidInputError(f"{str(file)!r} already exists; pass --force to overwrite it")
    with open_memory(ctx) as memory, make_progress("records") as progress:
        task = progress.add_task("exporting", total=None)

        def started(counts: ExportCounts) -> None:
            progress.update(task, total=counts.total)

        summary = export_jsonl(
            memory,
            file,
            on_start=started,
            on_progress=lambda done: progress.update(task, completed=done),
        )
        namespace = memory.namespace
    counts = summary.counts
    console.print(
        f"Exported {counts.episodes:,} episodes, {counts.patterns:,} patterns and "
        f"{counts.heuristics:,} heuristics from namespace {namespace!r} to {file} "
        f"in {summary.seconds:.2f} s ({counts.episodes / max(summary.seconds, 1e-9):,.0f} "
        "episodes/s)."
    )


def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(help="A file written by `memory-core export`.", dir_okay=False),
    ],
    strict: Annotated[
        bool,
        typer.Option(help="Check every line first; import nothing if any line is invalid."),
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="Records written per transaction.")
    ] = 2000,
) -> None:
    """Import an export file; records already stored are skipped, bad lines are reported."""
    with open_memory(ctx) as memory, make_progress("records") as progress:
        task = progress.add_task("importing", total=None)

        def started(header: ExportHeader) -> None:
            progress.update(task, total=header.counts.total or None)

        started_at = time.perf_counter()
        report = import_jsonl(
            memory,
            file,
            strict=strict,
            batch_size=batch_size,
            on_start=started,
            on_progress=lambda done: progress.update(
                task, completed=done, total=max(done, progress.tasks[0].total or 0)
            ),
        )
        seconds = time.perf_counter() - started_at
        namespace = memory.namespace
    imported, skipped = report.imported, report.skipped
    console.print(
        f"Imported {imported.episodes:,} episodes, {imported.patterns:,} patterns and "
        f"{imported.heuristics:,} heuristics into namespace {namespace!r} in {seconds:.2f} s "
        f"({report.episodes_per_second:,.0f} episodes/s)."
    )
    if skipped.total:
        console.print(
            f"Skipped {skipped.episodes:,} episodes, {skipped.patterns:,} patterns and "
            f"{skipped.heuristics:,} heuristics already stored."
        )
    if report.errors:
        for error in report.errors[:_MAX_BAD_LINES_SHOWN]:
            err_console.print(f"{file}:{error.line}: {error.message}", soft_wrap=True)
        more = len(report.errors) - _MAX_BAD_LINES_SHOWN
        if more > 0:
            err_console.print(f"... and {more} more invalid lines")
        err_console.print(
            f"[bold red]error:[/bold red] {len(report.errors)} invalid line(s) in {file} were "
            "not imported (the valid ones were); fix them and import again, or use --strict "
            "for all or nothing",
            soft_wrap=True,
        )
        raise typer.Exit(1)
