"""``memory-core doctor`` (checks the configuration and database) and ``migrate``."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url

from memory_core._learner_process import check_shareable
from memory_core.cli._common import (
    CliState,
    console,
    err_console,
    one_line,
    open_memory,
    print_json,
    state,
)
from memory_core.config import MemoryConfig
from memory_core.errors import ConfigurationError, MemoryCoreError
from memory_core.memory import SyncSelfLearningMemory
from memory_core.storage._schema import SCHEMA_VERSION
from memory_core.storage.base import count_learned_items, count_unlearned

__all__ = ["Check", "doctor_command", "migrate_command", "run_checks"]

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Check:
    """The result of one doctor check."""

    name: str
    status: Status
    detail: str


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _url_source(options: CliState) -> str:
    if options.database_url and os.environ.get("MEMORY_CORE_DATABASE_URL") == options.database_url:
        return "from MEMORY_CORE_DATABASE_URL"
    if options.database_url:
        return "from --database-url"
    return "the default (set --database-url or MEMORY_CORE_DATABASE_URL to change it)"


def _sqlite_file(url: str) -> Check | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return Check("sqlite file", "warn", "in-memory database: nothing is kept after exit")
    path = Path(database).expanduser()
    if not os.access(path, os.W_OK):
        return Check("sqlite file", "fail", f"{path} is not writable by this user")
    size = path.stat().st_size / 1e6
    return Check("sqlite file", "ok", f"{path} ({size:,.1f} MB, writable)")


def _database_checks(memory: SyncSelfLearningMemory) -> list[Check]:
    store, namespace = memory.engine.store, memory.namespace
    checks: list[Check] = []
    version = getattr(store, "schema_version", None)
    if version is None:
        checks.append(Check("schema", "ok", f"custom store {type(store).__name__}"))
    elif version == SCHEMA_VERSION:
        checks.append(Check("schema", "ok", f"version {version} (current)"))
    else:
        checks.append(
            Check("schema", "warn", f"version {version}, this memory-core uses {SCHEMA_VERSION}")
        )
    total = store.count_episodes(namespace)
    in_flight = store.count_episodes(namespace, completed=False)
    patterns, _ = count_learned_items(store, namespace)
    checks.append(
        Check(
            "contents",
            "ok" if total else "warn",
            f"namespace {namespace!r}: {total:,} episodes ({in_flight:,} in flight), "
            f"{patterns:,} patterns"
            + ("" if total else " — empty; is this the namespace you meant (--namespace)?"),
        )
    )
    pending = count_unlearned(store, namespace)
    checks.append(
        Check(
            "pending extraction",
            "warn" if pending else "ok",
            f"{pending:,} completed episodes not learned from yet; "
            "run `memory-core relearn --pending-only`"
            if pending
            else "every completed episode has been learned from",
        )
    )
    return checks


def run_checks(options: CliState) -> list[Check]:
    """Run every check for the given global options; never raises `MemoryCoreError`."""
    checks = [
        Check(
            "versions",
            "ok",
            f"memory-core {_version('memory-core')}, Python {platform.python_version()}, "
            f"SQLAlchemy {_version('sqlalchemy')}, pydantic {_version('pydantic')}",
        )
    ]
    try:
        config: MemoryConfig = options.config()
    except MemoryCoreError as exc:
        return [*checks, Check("configuration", "fail", str(exc))]
    checks.append(Check("configuration", "ok", "MEMORY_CORE_* variables and options are valid"))
    url = config.resolved_database_url
    checks.append(Check("database url", "ok", f"{_safe(url)} ({_url_source(options)})"))
    if url.startswith(("postgresql", "postgres:")):
        driver = _version("psycopg")
        checks.append(
            Check(
                "driver",
                "fail" if driver == "not installed" else "ok",
                "psycopg is not installed: pip install 'memory-core[postgresql]'"
                if driver == "not installed"
                else f"psycopg {driver}",
            )
        )
    if config.learning.effective_mode == "process":
        try:
            check_shareable(url)
        except ConfigurationError as exc:
            checks.append(Check("learning", "fail", str(exc)))
        else:
            checks.append(Check("learning", "ok", "in a learner process each memory starts"))
    plugins = sorted(ep.name for ep in importlib.metadata.entry_points(group="memory_core"))
    checks.append(
        Check(
            "plugins",
            "ok",
            ("loading " if config.load_plugins else "not loading (load_plugins is off) ")
            + (", ".join(plugins) if plugins else "no installed plugins"),
        )
    )
    config.learning.mode = "external"  # a check must not learn the namespace's backlog
    try:
        with SyncSelfLearningMemory(config, namespace=options.namespace or "default") as memory:
            checks.append(Check("connection", "ok", "opened the database and its tables"))
            found = _sqlite_file(url)
            if found is not None:
                checks.append(found)
            checks += _database_checks(memory)
    except MemoryCoreError as exc:
        checks.append(Check("connection", "fail", str(exc).strip().splitlines()[0]))
    return checks


_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def doctor_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Check the configuration, the database connection, its schema and its contents."""
    checks = run_checks(state(ctx))
    failed = [c for c in checks if c.status == "fail"]
    if as_json:
        print_json([asdict(c) for c in checks])
    else:
        table = Table(title="memory-core doctor")
        table.add_column("check", style="bold")
        table.add_column("status")
        table.add_column("detail")
        for check in checks:
            table.add_row(
                check.name, Text(check.status, style=_STYLE[check.status]), Text(check.detail)
            )
        console.print(table)
    if failed:
        err_console.print(
            f"[bold red]error:[/bold red] {failed[0].name}: {one_line(failed[0].detail)}",
            soft_wrap=True,
        )
        raise typer.Exit(1)


def migrate_command(ctx: typer.Context) -> None:
    """Create missing tables and bring the database schema up to date (Alembic revisions)."""
    with open_memory(ctx) as memory:
        version = getattr(memory.engine.store, "schema_version", None)
        migration = getattr(memory.engine.store, "migration", None)
        url = memory.stats().database_url
    if version is None:
        console.print(f"{url}: custom store, nothing to migrate.")
        return
    if migration is not None and migration.upgraded:
        before = migration.from_revision or "none (new or pre-Alembic database)"
        console.print(
            f"{url}: upgraded from revision {before} to {migration.to_revision}; "
            f"schema version {version}."
        )
        return
    console.print(
        f"{url}: schema version {version} (this memory-core uses {SCHEMA_VERSION}); "
        "the database is up to date."
    )
