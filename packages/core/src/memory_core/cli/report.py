"""``memory-core report OUT.html``: a self-contained HTML report of the namespace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from memory_core.cli._common import console, open_memory
from memory_core.report import write_report

__all__ = ["report_command"]


def report_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(metavar="OUT.html", help="Where to write the page.")],
) -> None:
    """Write one self-contained HTML page: charts, top patterns and recent failures."""
    with open_memory(ctx) as memory:
        data = write_report(memory, out)
    console.print(
        f"Wrote {out} ({out.stat().st_size / 1024:,.0f} kB): {len(data.completed):,} episodes, "
        f"{data.patterns_total:,} patterns, {len(data.recent_failures)} recent failures. "
        f"Open it in a browser: file://{out.resolve()}"
    )
