"""What every command shares: global options, opening the memory, output helpers, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from memory_core._ids import parse_id as _parse_id
from memory_core.config import MemoryConfig
from memory_core.errors import InvalidInputError
from memory_core.memory import SyncSelfLearningMemory

__all__ = [
    "CliState",
    "console",
    "err_console",
    "fail",
    "make_progress",
    "open_memory",
    "parse_id",
    "parse_when",
    "print_json",
    "state",
]

console = Console(highlight=False)
"""Standard output (tables, reports)."""

err_console = Console(stderr=True, highlight=False)
"""Standard error (progress bars, warnings, errors)."""


@dataclass(frozen=True, slots=True)
class CliState:
    """The global options, shared by every command through the typer context."""

    database_url: str | None = None
    namespace: str | None = None

    def config(self) -> MemoryConfig:
        """The configuration: ``MEMORY_CORE_*`` variables, then ``--database-url``."""
        overrides: dict[str, Any] = {}
        if self.database_url:
            overrides["database_url"] = self.database_url
        return MemoryConfig.from_env(**overrides)


def state(ctx: typer.Context) -> CliState:
    """The global options of this invocation."""
    found = ctx.find_object(CliState)
    return found if found is not None else CliState()


@contextmanager
def open_memory(ctx: typer.Context, *, learns: bool = False) -> Iterator[SyncSelfLearningMemory]:
    """Open the memory selected by the global options (closed on exit).

    The memory leaves learning to others (``learning.mode="external"``) unless ``learns``:
    in the configured mode, opening it would first learn the namespace's backlog of
    unlearned episodes (or start a learner process) in a command that reads or exports.
    """
    options = state(ctx)
    namespace = options.namespace or "default"
    config = options.config()
    if not learns:
        config.learning.mode = "external"
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        yield memory


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on one line of standard error and exit with ``code``."""
    err_console.print(f"[bold red]error:[/bold red] {escape(one_line(message))}", soft_wrap=True)
    raise typer.Exit(code)


def one_line(message: str) -> str:
    """The first line of a (possibly multi-line) error message, whitespace collapsed."""
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    return " ".join(first.split())


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to standard output (for scripts)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def parse_id(value: str, what: str) -> UUID:
    """Parse an episode or pattern id given on the command line.

    Raises:
        InvalidInputError: If ``value`` is not a UUID.
    """
    return _parse_id(value, what, source="see the listings")


def parse_when(value: str | None, option: str) -> datetime | None:
    """Parse an ISO date or date-time option (naive values are UTC).

    Raises:
        InvalidInputError: If ``value`` is not ISO 8601.
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(
            f"{option} {value!r} is not a date; use ISO 8601, e.g. 2026-03-01 or "
            "2026-03-01T09:30:00"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class _RateColumn(ProgressColumn):
    """Throughput of a progress task, in ``unit`` per second."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text(f"- {self.unit}/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} {self.unit}/s", style="progress.data.speed")


@contextmanager
def make_progress(unit: str) -> Iterator[Progress]:
    """A progress bar on standard error showing count, throughput and elapsed time.

    If the block fails, the bar is removed so that only the error message remains.
    """
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(unit),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )
    with progress:
        try:
            yield progress
        except BaseException:
            for task in progress.tasks:
                progress.update(task.id, visible=False)
            raise
