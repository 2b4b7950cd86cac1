"""The ``memory-core`` console script (typer): global options and command registry."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from memory_core.cli import episodes, lifecycle, patterns
from memory_core.cli._common import CliState, err_console, one_line, state
from memory_core.cli.demo import run_demo
from memory_core.cli.doctor import doctor_command, migrate_command
from memory_core.cli.learn import learn_command
from memory_core.cli.mcp import mcp_command
from memory_core.cli.portability import export_command, import_command
from memory_core.cli.relearn import relearn_command
from memory_core.cli.report import report_command
from memory_core.cli.search import search_command
from memory_core.cli.stats import stats_command
from memory_core.cli.ui import ui_command
from memory_core.errors import MemoryCoreError

__all__ = ["app", "main"]

app = typer.Typer(
    name="memory-core",
    help="Inspect, search, visualise, export and import a memory-core database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="MEMORY_CORE_DATABASE_URL",
            help="Database URL, e.g. sqlite:///memory.db or postgresql://user:pw@host/db "
            "(default: SQLite in the user data dir).",
            show_envvar=True,
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Namespace (tenant) to work on [default: default]."),
    ] = None,
) -> None:
    """Inspect, search, visualise, export and import a memory-core database."""
    ctx.obj = CliState(database_url=database_url, namespace=namespace)


@app.command()
def demo(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Database URL (overrides the global option)."),
    ] = None,
) -> None:
    """Show the learning effect: the same tasks without and with memory, as a learning curve."""
    options = state(ctx)
    config = CliState(database_url or options.database_url).config()
    raise typer.Exit(
        run_demo(
            config=config,
            namespace=options.namespace or "demo",
            explicit_namespace=options.namespace is not None,
        )
    )


app.command("stats")(stats_command)
app.add_typer(episodes.app, name="episodes")
app.add_typer(patterns.app, name="patterns")
app.command("search")(search_command)
app.command("export")(export_command)
app.command("import")(import_command)
app.command("relearn")(relearn_command)
app.command("learn")(learn_command)
app.command("report")(report_command)
app.command("migrate")(migrate_command)
app.command("prune")(lifecycle.prune_command)
app.add_typer(lifecycle.app, name="namespaces")
app.command("doctor")(doctor_command)
app.command("ui")(ui_command)
app.command("mcp")(mcp_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script.

    Errors raised on purpose by memory-core (`MemoryCoreError`) end the program with exit
    code 1 and a one-line message on standard error, never a traceback.
    """
    try:
        app(args=argv, prog_name="memory-core")
    except MemoryCoreError as exc:
        err_console.print(
            f"[bold red]error:[/bold red] {escape(one_line(str(exc)))}", soft_wrap=True
        )
        sys.exit(1)
    except OSError as exc:  # a file or folder given on the command line
        where = f" ({exc.filename})" if exc.filename else ""
        err_console.print(f"[bold red]error:[/bold red] {exc.strerror}{where}", soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
