"""``memory-core prune`` and ``memory-core namespaces list|delete``: the data lifecycle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from memory_core._engine import validate_namespace
from memory_core.cli._common import console, fail, print_json, state
from memory_core.memory import SyncSelfLearningMemory
from memory_core.plugins import PluginHost, make_plugin_manager
from memory_core.storage.erasure import LifecycleStore
from memory_core.storage.retention import PruneReport

__all__ = ["app", "prune_command"]

app = typer.Typer(
    help="List namespaces with their size, or delete one with everything in it.",
    no_args_is_help=True,
)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover - the loop always returns


def _report_json(report: PruneReport) -> dict[str, Any]:
    data = asdict(report)
    data.update(
        episodes_deleted=report.episodes_deleted,
        links_deleted=report.links_deleted,
        bytes_reclaimed=report.bytes_reclaimed,
    )
    return data


def prune_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would be deleted.")
    ] = False,
    max_episodes: Annotated[
        int | None,
        typer.Option(
            "--max-episodes",
            min=0,
            help="Cap of completed episodes [default: MEMORY_CORE_RETENTION__MAX_EPISODES].",
        ),
    ] = None,
    max_age_days: Annotated[
        float | None,
        typer.Option(
            "--max-age-days",
            min=0.0,
            help="Age limit in days [default: MEMORY_CORE_RETENTION__MAX_AGE_DAYS].",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Delete the namespace's least valuable completed episodes beyond its retention limits."""
    options = state(ctx)
    config = options.config()
    retention = config.retention.model_copy(update={"auto_prune": False})
    if max_episodes is not None:
        retention.max_episodes = max_episodes
    if max_age_days is not None:
        retention.max_age_days = max_age_days
    if not retention.enabled:
        fail(
            "no retention limit is set: pass --max-episodes or --max-age-days, or set "
            "MEMORY_CORE_RETENTION__MAX_EPISODES / MEMORY_CORE_RETENTION__MAX_AGE_DAYS"
        )
    config = config.model_copy(update={"retention": retention})
    config.learning.mode = "external"  # pruning must not learn the namespace's backlog
    namespace = options.namespace or "default"
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        report = memory.prune(dry_run=dry_run)
    if as_json:
        print_json(_report_json(report))
        return
    verb = "would delete" if dry_run else "deleted"
    table = Table(title=f"prune — namespace {namespace!r}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("completed episodes before", f"{report.completed_before:,}")
    table.add_row("  older than the age limit", f"{report.expired:,}")
    table.add_row("  over the cap", f"{report.over_cap:,}")
    table.add_row(f"episodes {verb}", f"{report.episodes_deleted:,}")
    table.add_row(f"steps {verb}", f"{report.deleted.steps:,}")
    table.add_row(f"evidence links {verb}", f"{report.links_deleted:,}")
    table.add_row(
        f"patterns / heuristics {verb}",
        f"{report.deleted.patterns_deleted:,} / {report.deleted.heuristics_deleted:,}",
    )
    table.add_row("payload reclaimed", _size(report.bytes_reclaimed))
    table.add_row("completed episodes after", f"{report.completed_after:,}")
    console.print(table)


@contextmanager
def _lifecycle_store(ctx: typer.Context) -> Iterator[LifecycleStore]:
    """The configured store alone (no memory: opening one would start learning)."""
    config = state(ctx).config()
    host = PluginHost(make_plugin_manager(load_entrypoints=config.load_plugins))
    store = host.make_store(config.resolved_database_url, config)
    try:
        if not isinstance(store, LifecycleStore):
            fail(f"the store {type(store).__name__} cannot list or delete namespaces")
        yield store
    finally:
        store.close()


@app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Every namespace with its episodes, patterns, heuristics and stored size."""
    with _lifecycle_store(ctx) as store:
        usage = store.namespace_usage()
    if as_json:
        print_json([asdict(u) for u in usage])
        return
    table = Table(title="namespaces")
    table.add_column("namespace", style="bold")
    for name in ("episodes", "patterns", "heuristics", "size"):
        table.add_column(name, justify="right")
    for u in usage:
        table.add_row(
            u.namespace, f"{u.episodes:,}", f"{u.patterns:,}", f"{u.heuristics:,}", _size(u.bytes)
        )
    console.print(table)


@app.command("delete")
def delete_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The namespace to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a namespace and everything in it, in one transaction (cannot be undone)."""
    validate_namespace(name)
    with _lifecycle_store(ctx) as store:
        found = next((u for u in store.namespace_usage() if u.namespace == name), None)
        if found is None:
            fail(f"there is no namespace {name!r}; see `memory-core namespaces list`")
        if not yes:
            typer.confirm(
                f"Delete namespace {name!r} with {found.episodes:,} episodes, "
                f"{found.patterns:,} patterns and {found.heuristics:,} heuristics "
                f"({_size(found.bytes)})? This cannot be undone",
                abort=True,
            )
        deleted = store.delete_namespace(name)
    console.print(
        f"deleted namespace {name!r}: {deleted.episodes:,} episodes, {deleted.patterns:,} "
        f"patterns, {deleted.heuristics:,} heuristics ({_size(deleted.bytes)})."
    )
