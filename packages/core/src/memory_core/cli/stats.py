"""``memory-core stats``: counts and cache/learning counters of one namespace."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from memory_core.cli._common import console, open_memory, print_json

__all__ = ["stats_command"]


def stats_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show how many episodes, patterns and heuristics the namespace holds."""
    with open_memory(ctx) as memory:
        snapshot = memory.stats()
    if as_json:
        print_json(snapshot.model_dump(mode="json"))
        return
    table = Table(title=f"memory-core — namespace {snapshot.namespace!r}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("database", snapshot.database_url)
    table.add_row("episodes", f"{snapshot.episodes_total:,}")
    table.add_row("  completed", f"{snapshot.episodes_completed:,}")
    in_flight = snapshot.episodes_total - snapshot.episodes_completed
    table.add_row("  in flight", f"{in_flight:,}")
    table.add_row("  not learned yet", f"{snapshot.episodes_unlearned:,}")
    table.add_row("patterns", f"{snapshot.patterns_total:,}")
    table.add_row("heuristics", f"{snapshot.heuristics_total:,}")
    learning = snapshot.learning
    table.add_row(
        "learning queue",
        f"{learning.queued} queued, {learning.processed} processed, {learning.failed} failed",
    )
    console.print(table)
