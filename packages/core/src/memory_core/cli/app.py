"""The ``memory-core`` console script (typer)."""

from __future__ import annotations

from typing import Annotated

import typer

from memory_core.cli.demo import run_demo

__all__ = ["app", "main"]

app = typer.Typer(
    name="memory-core",
    help="Inspect and exercise a memory-core database.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Inspect and exercise a memory-core database."""


@app.command()
def demo(
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Database URL (default: SQLite in the data dir)."),
    ] = None,
) -> None:
    """Run a scripted agent on a few tasks and show what the memory learned."""
    raise typer.Exit(run_demo(database_url))


def main() -> None:
    """Entry point of the console script."""
    app()
