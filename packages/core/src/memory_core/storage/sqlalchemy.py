"""The durable store: SQLAlchemy 2 over SQLite (embedded default) or PostgreSQL.

SQLite runs in WAL mode with foreign keys on and ``BEGIN IMMEDIATE`` write transactions,
so several processes can share one file safely. PostgreSQL uses psycopg 3; pattern merges
take a transaction-scoped advisory lock per namespace so concurrent writers never store the
same pattern twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from array import array
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy import (
    ColumnElement,
    Engine,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal_column,
    null,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from memory_core.errors import (
    ChangeFeedTrimmedError,
    ConfigurationError,
    MissingDependencyError,
    StorageError,
)
from memory_core.models import (
    ContextPattern,
    DecisionPoint,
    Episode,
    ErrorRecovery,
    ExecutionStep,
    Heuristic,
    Pattern,
    PatternKind,
    ToolSequence,
)
from memory_core.storage import _search_schema  # noqa: F401 - registers the search tables
from memory_core.storage._schema import (
    Base,
    ChangeRow,
    EpisodeEmbeddingRow,
    EpisodeRow,
    FeedHorizonRow,
    HeuristicEpisodeRow,
    HeuristicRow,
    PatternEpisodeRow,
    PatternRow,
    SchemaVersionRow,
    StepRow,
)
from memory_core.storage.base import (
    Change,
    ChangeEntity,
    EpisodeQuery,
    EpisodeState,
    HeuristicMerge,
    LearningWrites,
    PatternMerge,
    PatternUpdate,
    WriteBatch,
)
from memory_core.storage.browse import BrowseQueries, filter_episodes
from memory_core.storage.browse import micros as _us
from memory_core.storage.erasure import ErasureQueries
from memory_core.storage.migrations import upgrade_schema
from memory_core.storage.search_index import SearchIndex

__all__ = ["SQLAlchemyEpisodeStore", "normalize_database_url"]

_PATTERN = TypeAdapter[Pattern](Pattern)
_PATTERN_TYPES = frozenset[type]((ToolSequence, DecisionPoint, ErrorRecovery, ContextPattern))
_T = TypeVar("_T")
_WRITE = "memory_core_write"
_CHANGES = "memory_core_changes"
_EPISODES = cast(Table, EpisodeRow.__table__)
_STEPS = cast(Table, StepRow.__table__)
_CHUNK = 500

# Statements built once: constructing SQLAlchemy expressions costs more than running them
# on SQLite, and completion is on the caller's hot path.
_UPDATE_EPISODE = (
    update(_EPISODES)
    .where(
        _EPISODES.c.namespace == bindparam("v_namespace"),
        _EPISODES.c.episode_id == bindparam("v_episode_id"),
    )
    .values(
        {
            name: bindparam(f"v_{name}")
            for name in (
                "task_type",
                "domain",
                "start_us",
                "end_us",
                "outcome_kind",
                "reward_total",
                "data",
            )
        }
    )
)
_INSERT_CHANGE = insert(cast(Table, ChangeRow.__table__))
_PATTERNS_TABLE = cast(Table, PatternRow.__table__)
_UPDATE_PATTERN = (
    update(_PATTERNS_TABLE)
    .where(
        _PATTERNS_TABLE.c.namespace == bindparam("v_namespace"),
        _PATTERNS_TABLE.c.pattern_id == bindparam("v_pattern_id"),
    )
    .values(
        {
            name: bindparam(f"v_{name}")
            for name in ("kind", "domain", "success_rate", "occurrence_count", "updated_us", "data")
        }
    )
)
_PATTERNS_OF_DOMAIN = select(_PATTERNS_TABLE.c.data).where(
    _PATTERNS_TABLE.c.namespace == bindparam("v_namespace"),
    _PATTERNS_TABLE.c.kind == bindparam("v_kind"),
    _PATTERNS_TABLE.c.domain == bindparam("v_domain"),
)
_PATTERNS_NO_DOMAIN = select(_PATTERNS_TABLE.c.data).where(
    _PATTERNS_TABLE.c.namespace == bindparam("v_namespace"),
    _PATTERNS_TABLE.c.kind == bindparam("v_kind"),
    _PATTERNS_TABLE.c.domain.is_(None),
)
_NO_LINKS = ('"pattern_ids":[]', '"heuristic_ids":[]')
_NO_STEPS = '"steps":[]'
_STEP_LIST: TypeAdapter[list[ExecutionStep]] = TypeAdapter(list[ExecutionStep])
# An episode's steps' JSON joined by commas in step order ('' for none), read in the
# episode's own statement. PostgreSQL only: SQLite orders ``group_concat`` only from 3.44.
_JOINED_STEPS = (
    select(
        func.coalesce(
            func.string_agg(
                _STEPS.c.data, aggregate_order_by(literal_column("','"), _STEPS.c.step_number)
            ),
            "",
        )
    )
    .where(
        _STEPS.c.namespace == _EPISODES.c.namespace,
        _STEPS.c.episode_id == _EPISODES.c.episode_id,
    )
    .scalar_subquery()
)

logger = logging.getLogger("memory_core.storage")

ChangeListener = Callable[[str, str, list[str], str], None]
"""``listener(namespace, entity, entity_ids, op)``, called after a write commits."""


def _now_us() -> int:
    return _us(datetime.now(UTC))


def normalize_database_url(url: str) -> str:
    """Map plain URLs to the drivers memory-core ships with.

    ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``; ``sqlite:///``
    stays as it is.

    Raises:
        ConfigurationError: If the URL cannot be parsed.
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"cannot parse database URL {url!r}; expected e.g. 'sqlite:///path/memory.db' "
            "or 'postgresql://user:password@host/dbname'"
        ) from exc
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _episode_row(namespace: str, episode: Episode) -> dict[str, Any]:
    header = episode.model_copy(update={"steps": []})
    return {
        "namespace": namespace,
        "episode_id": str(episode.episode_id),
        "task_type": episode.task_type.value,
        "domain": episode.context.domain,
        "start_us": _us(episode.start_time),
        "end_us": _us(episode.end_time) if episode.end_time else None,
        "outcome_kind": episode.outcome.kind if episode.outcome else None,
        "reward_total": episode.reward.total if episode.reward else None,
        "data": header.model_dump_json(),
    }


def _step_row(namespace: str, episode_id: UUID, step: ExecutionStep) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "episode_id": str(episode_id),
        "step_number": step.step_number,
        "tool": step.tool[:500],
        "success": step.is_success,
        "data": step.model_dump_json(),
    }


def _pattern_row(namespace: str, pattern: Pattern) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "pattern_id": str(pattern.pattern_id),
        "kind": pattern.kind,
        "domain": pattern.domain,
        "success_rate": pattern.success_rate,
        "occurrence_count": pattern.occurrence_count,
        "updated_us": _us(pattern.updated_at),
        "data": _PATTERN.dump_json(pattern).decode(),
    }


class SQLAlchemyEpisodeStore(BrowseQueries, ErasureQueries):
    """`EpisodeStore` on SQLAlchemy 2: SQLite file, SQLite in memory, or PostgreSQL.

    Args:
        url: SQLAlchemy database URL (see `normalize_database_url`).
        echo: Log every SQL statement (debugging).

    Raises:
        ConfigurationError: For an unusable URL.
        MissingDependencyError: When the database driver is not installed.
        StorageError: When the database cannot be opened or its schema is newer than this
            version of memory-core understands.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_database_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database in ("", ":memory:") or database.startswith("file::memory:"):
                kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
            else:
                folder = Path(database).expanduser().parent
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StorageError(
                        f"cannot create the folder {str(folder)!r} for the SQLite database: "
                        f"{exc.strerror}; check the path in the database URL"
                    ) from exc
                kwargs["connect_args"] = {"check_same_thread": False, "timeout": 60}
        elif self.dialect == "postgresql":
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        else:
            raise ConfigurationError(
                f"unsupported database {self.dialect!r} in {parsed.render_as_string()!r}; "
                "memory-core supports sqlite:/// and postgresql:// URLs (or a plugin store)"
            )
        try:
            self._engine: Engine = create_engine(self.url, **kwargs)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise MissingDependencyError(
                f"the driver for {self.dialect} is not installed: "
                "pip install 'memory-core[postgresql]'"
            ) from exc
        if self.dialect == "sqlite":
            self._configure_sqlite(self._engine)
        self._writer = self._engine.execution_options(**{_WRITE: True})
        self._reader = (
            self._engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.dialect == "postgresql"
            else self._engine
        )
        self._lock = threading.Lock()  # serialises in-process writers on SQLite
        self.change_listeners: list[ChangeListener] = []
        """Called after each committed write that changed episodes, patterns or heuristics,
        with (namespace, entity, entity ids, op); in-process caches use it to invalidate."""
        self._joined_steps: ColumnElement[Any] = (
            _JOINED_STEPS if self.dialect == "postgresql" else null()
        )
        """Selected beside an episode's data: its steps, or NULL where they are read apart."""
        self.search_index = SearchIndex(self._engine) if self.dialect == "postgresql" else None
        """The database search index (PostgreSQL only), kept up to date by every episode
        write and delete."""
        self._migrate()

    # ------------------------------------------------------------------ setup

    @staticmethod
    def _configure_sqlite(engine: Engine) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            if connection.get_execution_options().get(_WRITE):
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.exec_driver_sql("BEGIN")

    def _migrate(self) -> None:
        with self._session(write=True) as session:
            self._lock_namespace(session, "__schema__")
            # what opening did to the schema (``memory-core migrate`` reports it)
            self.migration = upgrade_schema(session.connection())

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        with self._session() as session:
            return int(session.scalar(select(SchemaVersionRow.version)) or 0)

    @contextmanager
    def _session(self, *, write: bool = False, read_only: bool = False) -> Iterator[Session]:
        """A session in a transaction (``write``: a writer's), committed on exit.

        ``read_only`` sessions only read: on PostgreSQL they run in autocommit, which at
        READ COMMITTED sees what a transaction would (a snapshot per statement) without the
        round trips of a BEGIN and a COMMIT.
        """
        bind = self._writer if write else self._reader if read_only else self._engine
        try:
            if write and self.dialect == "sqlite":
                with self._lock, Session(bind) as session, session.begin():
                    yield session
            else:
                with Session(bind) as session, session.begin():
                    yield session
        except SQLAlchemyError as exc:
            raise StorageError(f"database operation failed on {self._safe_url()}: {exc}") from exc
        changes = session.info.get(_CHANGES)
        if changes:  # committed: tell in-process listeners
            for listener in list(self.change_listeners):
                for change in changes:
                    try:
                        listener(*change)
                    except Exception:
                        logger.exception("change listener %r failed", listener)

    def _safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def _lock_namespace(self, session: Session, namespace: str) -> None:
        """Serialise writers of one namespace across processes (PostgreSQL only).

        SQLite needs nothing more: ``BEGIN IMMEDIATE`` already admits one writer at a time.
        """
        if self.dialect == "postgresql":
            key = int.from_bytes(
                hashlib.blake2b(namespace.encode(), digest_size=8).digest(), "big", signed=True
            )
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    @staticmethod
    def _record(session: Session, namespace: str, entity: str, ids: Sequence[str], op: str) -> None:
        if ids:
            session.connection().execute(
                _INSERT_CHANGE,
                [{"namespace": namespace, "entity": entity, "entity_id": i, "op": op} for i in ids],
            )
            session.info.setdefault(_CHANGES, []).append((namespace, entity, list(ids), op))

    @staticmethod
    def _announce(session: Session, namespace: str, entity: str, ids: list[str], op: str) -> None:
        """Tell in-process listeners of a change after the commit, without a feed entry."""
        if ids:
            session.info.setdefault(_CHANGES, []).append((namespace, entity, ids, op))

    # --------------------------------------------------------------- episodes

    def write(self, namespace: str, batch: WriteBatch) -> None:
        """Apply a batch of episode and step writes atomically."""
        if not batch:
            return
        completed = {e.episode_id: e for e in batch.completed}  # the last state wins
        # An episode started and completed within the batch is inserted in its final state:
        # no insert-then-update, no look-up of stored step numbers.
        fresh = {e.episode_id for e in batch.new_episodes if e.episode_id in completed}
        episode_rows = [
            _episode_row(namespace, completed[e.episode_id] if e.episode_id in fresh else e)
            for e in batch.new_episodes
        ]
        step_rows = [_step_row(namespace, eid, s) for eid, s in batch.steps]
        step_rows += [
            _step_row(namespace, e.episode_id, s) for e in batch.new_episodes for s in e.steps
        ]
        if fresh:
            finished = [
                completed[e.episode_id] for e in batch.new_episodes if e.episode_id in fresh
            ]
            step_rows += self._missing_steps(namespace, finished, step_rows, {})
        updates = [e for e in completed.values() if e.episode_id not in fresh]
        with self._session(write=True) as session:
            # Plain Core executemany: the ORM bulk path costs twice as much per row.
            connection = session.connection()
            if episode_rows:
                connection.execute(insert(_EPISODES), episode_rows)
            if updates:
                step_rows += self._complete(connection, namespace, updates, step_rows)
            if step_rows:
                connection.execute(insert(_STEPS), step_rows)
            if self.search_index is not None:
                self.search_index.episodes_stored(
                    connection, namespace, [*batch.new_episodes, *batch.completed]
                )
            self._record(session, namespace, "episode", [str(i) for i in completed], "upsert")

    def _complete(
        self,
        connection: Connection,
        namespace: str,
        episodes: Sequence[Episode],
        step_rows: Sequence[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Overwrite already-inserted episodes with their final state.

        An episode that is missing (its start was never stored) is inserted. Returns the
        rows of their steps that are neither stored nor in ``step_rows``.
        """
        ids = [str(e.episode_id) for e in episodes]
        stored: dict[str, set[int]] = {}
        for start in range(0, len(ids), 500):
            found = connection.execute(
                select(_STEPS.c.episode_id, _STEPS.c.step_number).where(
                    _STEPS.c.namespace == namespace,
                    _STEPS.c.episode_id.in_(ids[start : start + 500]),
                )
            )
            for episode_id, number in found:
                stored.setdefault(episode_id, set()).add(number)
        for episode in episodes:
            row = _episode_row(namespace, episode)
            result = connection.execute(_UPDATE_EPISODE, {f"v_{k}": v for k, v in row.items()})
            if result.rowcount == 0:
                connection.execute(insert(_EPISODES), [row])
        return self._missing_steps(namespace, episodes, step_rows, stored)

    @staticmethod
    def _missing_steps(
        namespace: str,
        episodes: Sequence[Episode],
        step_rows: Sequence[dict[str, Any]],
        stored: dict[str, set[int]],
    ) -> list[dict[str, Any]]:
        """Rows of the episodes' steps that are neither in ``step_rows`` nor ``stored``."""
        known: dict[str, set[int]] = {str(e.episode_id): set() for e in episodes}
        for row in step_rows:
            numbers = known.get(row["episode_id"])
            if numbers is not None:
                numbers.add(row["step_number"])
        missing: list[dict[str, Any]] = []
        for episode in episodes:
            episode_id = str(episode.episode_id)
            numbers = known[episode_id] | stored.get(episode_id, set())
            missing += [
                _step_row(namespace, episode.episode_id, s)
                for s in episode.steps
                if s.step_number not in numbers
            ]
        return missing

    def _load_steps(self, session: Session, namespace: str, ids: list[str]) -> dict[str, list[str]]:
        """The stored JSON of the listed episodes' steps, in step order."""
        steps: dict[str, list[str]] = {i: [] for i in ids}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            rows = session.execute(
                select(StepRow.episode_id, StepRow.data)
                .where(StepRow.namespace == namespace, StepRow.episode_id.in_(chunk))
                .order_by(StepRow.episode_id, StepRow.step_number)
            )
            for episode_id, data in rows:
                steps[episode_id].append(data)
        return steps

    def _episodes(
        self, session: Session, namespace: str, rows: Sequence[Sequence[Any]]
    ) -> list[Episode]:
        """Episodes from rows of (episode id, data, `_joined_steps`, ...)."""
        apart = [r[0] for r in rows if r[2] is None]
        steps = self._load_steps(session, namespace, apart) if apart else {}
        episodes = []
        for episode_id, data, joined, *_ in rows:
            if joined is None:
                joined = ",".join(steps[episode_id])
            if joined and data.count(_NO_STEPS) == 1:
                # One parse of the whole episode: the steps spliced into the stored header.
                whole = data.replace(_NO_STEPS, f'"steps":[{joined}]', 1)
                episodes.append(Episode.model_validate_json(whole))
                continue
            episode = Episode.model_validate_json(data)
            episode.steps = _STEP_LIST.validate_json(f"[{joined}]")
            episodes.append(episode)
        return episodes

    def get_episode(self, namespace: str, episode_id: UUID) -> Episode | None:
        """Return the episode with all its steps, or None."""
        with self._session() as session:
            rows = session.execute(
                select(_EPISODES.c.episode_id, _EPISODES.c.data, self._joined_steps).where(
                    _EPISODES.c.namespace == namespace, _EPISODES.c.episode_id == str(episode_id)
                )
            ).all()
            found = self._episodes(session, namespace, rows)
            return found[0] if found else None

    def get_episodes(self, namespace: str, episode_ids: Sequence[UUID]) -> list[Episode]:
        """Return the listed episodes that exist (any order)."""
        ids = [str(i) for i in episode_ids]
        out: list[Episode] = []
        with self._session(read_only=True) as session:
            for start in range(0, len(ids), _CHUNK):
                rows = session.execute(
                    select(_EPISODES.c.episode_id, _EPISODES.c.data, self._joined_steps).where(
                        _EPISODES.c.namespace == namespace,
                        _EPISODES.c.episode_id.in_(ids[start : start + _CHUNK]),
                    )
                ).all()
                out += self._episodes(session, namespace, rows)
        return out

    def list_episodes(self, namespace: str, query: EpisodeQuery) -> list[Episode]:
        """Return full episodes matching the query, newest first."""
        # The page's ids first, from the browsing index alone (no row is read for the rows
        # an offset skips), then their data.
        stmt = select(EpisodeRow.episode_id).where(EpisodeRow.namespace == namespace)
        stmt = (
            filter_episodes(stmt, query)
            .order_by(EpisodeRow.start_us.desc(), EpisodeRow.episode_id)
            .offset(query.offset)
        )
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        with self._session() as session:
            ids = list(session.scalars(stmt))
            found: dict[str, Sequence[Any]] = {}
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                for row in session.execute(
                    select(_EPISODES.c.episode_id, _EPISODES.c.data, self._joined_steps).where(
                        _EPISODES.c.namespace == namespace, _EPISODES.c.episode_id.in_(chunk)
                    )
                ):
                    found[row[0]] = row
            return self._episodes(session, namespace, [found[i] for i in ids if i in found])

    def count_episodes(self, namespace: str, *, completed: bool | None = None) -> int:
        """Count episodes (optionally only completed or only in-flight ones)."""
        stmt = select(func.count()).select_from(EpisodeRow).where(EpisodeRow.namespace == namespace)
        if completed is True:
            stmt = stmt.where(EpisodeRow.end_us.is_not(None))
        elif completed is False:
            stmt = stmt.where(EpisodeRow.end_us.is_(None))
        with self._session() as session:
            return int(session.scalar(stmt) or 0)

    def delete_episode(self, namespace: str, episode_id: UUID) -> bool:
        """Delete an episode, its steps and links, and take it out of patterns' evidence.

        Returns False if it did not exist. See `ErasureQueries.delete_episodes`.
        """
        return self.delete_episodes(namespace, [episode_id]).episodes == 1

    def unlearned_episode_ids(self, namespace: str) -> list[UUID]:
        """Completed episodes whose pattern extraction has not run yet, oldest first."""
        with self._session() as session:
            ids = session.scalars(
                select(EpisodeRow.episode_id)
                .where(
                    EpisodeRow.namespace == namespace,
                    EpisodeRow.learned.is_(False),
                    EpisodeRow.end_us.is_not(None),
                )
                .order_by(EpisodeRow.end_us)
            ).all()
        return [UUID(i) for i in ids]

    def count_unlearned(self, namespace: str) -> int:
        """Completed episodes whose pattern extraction has not run yet."""
        stmt = (
            select(func.count())
            .select_from(EpisodeRow)
            .where(
                EpisodeRow.namespace == namespace,
                EpisodeRow.learned.is_(False),
                EpisodeRow.end_us.is_not(None),
            )
        )
        with self._session() as session:
            return int(session.scalar(stmt) or 0)

    def mark_learned(
        self,
        namespace: str,
        episode_id: UUID,
        pattern_ids: Sequence[UUID],
        heuristic_ids: Sequence[UUID] = (),
    ) -> None:
        """Record that extraction ran for an episode and which patterns it fed."""
        key = str(episode_id)
        with self._session(write=True) as session:
            data = session.scalar(
                select(EpisodeRow.data).where(
                    EpisodeRow.namespace == namespace, EpisodeRow.episode_id == key
                )
            )
            if data is None:
                return
            episode = Episode.model_validate_json(data)
            episode.pattern_ids = list(dict.fromkeys([*episode.pattern_ids, *pattern_ids]))
            episode.heuristic_ids = list(dict.fromkeys([*episode.heuristic_ids, *heuristic_ids]))
            session.execute(
                update(EpisodeRow)
                .where(EpisodeRow.namespace == namespace, EpisodeRow.episode_id == key)
                .values(learned=True, data=episode.model_dump_json())
            )
            self._record(session, namespace, "episode", [key], "upsert")

    def mark_unlearned(self, namespace: str, episode_ids: Sequence[UUID] | None = None) -> int:
        """Mark completed episodes (all, or the listed ones) as not learned from yet.

        Their ``pattern_ids`` / ``heuristic_ids`` are cleared and they are re-queued the next
        time a memory opens; the pattern and heuristic links stay. Returns how many episodes
        were marked.
        """
        table = _EPISODES
        marked = 0
        changed: list[str] = []
        statement = (
            update(table)
            .where(table.c.namespace == namespace, table.c.episode_id == bindparam("b_id"))
            .values(learned=False, data=bindparam("b_data"))
        )
        with self._session(write=True) as session:
            self._lock_namespace(session, namespace)
            connection = session.connection()
            wanted = None if episode_ids is None else sorted({str(i) for i in episode_ids})
            after = ""
            while True:
                stmt = select(EpisodeRow.episode_id, EpisodeRow.data).where(
                    EpisodeRow.namespace == namespace, EpisodeRow.end_us.is_not(None)
                )
                if wanted is None:
                    stmt = stmt.where(EpisodeRow.episode_id > after)
                    stmt = stmt.order_by(EpisodeRow.episode_id).limit(_CHUNK)
                else:
                    chunk, wanted = wanted[:_CHUNK], wanted[_CHUNK:]
                    if not chunk:
                        break
                    stmt = stmt.where(EpisodeRow.episode_id.in_(chunk))
                rows = session.execute(stmt).all()
                if wanted is None and not rows:
                    break
                params = []
                for key, data in rows:
                    if not all(empty in data for empty in _NO_LINKS):
                        episode = Episode.model_validate_json(data)
                        episode.pattern_ids, episode.heuristic_ids = [], []
                        data = episode.model_dump_json()
                        changed.append(key)
                    params.append({"b_id": key, "b_data": data})
                if params:
                    connection.execute(statement, params)
                marked += len(params)
                if wanted is None:
                    after = rows[-1][0]
            self._record(session, namespace, "episode", changed, "upsert")
        return marked

    @contextmanager
    def learning_transaction(self, namespace: str) -> Iterator[_LearningTransaction]:
        """Open one write transaction in which a batch of episodes is learned.

        SQLite takes its write lock at once (``BEGIN IMMEDIATE``), so claims, merges and
        learned marks of concurrent learners are serialised; on PostgreSQL claims are row
        locks (``FOR UPDATE SKIP LOCKED``) and `_LearningTransaction.lock` takes the
        namespace's advisory lock. Commits when the block exits; in-process change
        listeners hear of the writes after the commit.
        """
        with self._session(write=True) as session:
            yield _LearningTransaction(self, session, namespace)

    # --------------------------------------------------------------- patterns

    def get_pattern(self, namespace: str, pattern_id: UUID) -> Pattern | None:
        """Return one pattern, or None."""
        with self._session() as session:
            data = session.scalar(
                select(PatternRow.data).where(
                    PatternRow.namespace == namespace, PatternRow.pattern_id == str(pattern_id)
                )
            )
        return None if data is None else _PATTERN.validate_json(data)

    def get_patterns(self, namespace: str, pattern_ids: Sequence[UUID]) -> list[Pattern]:
        """Return the listed patterns that exist (any order)."""
        ids = [str(i) for i in pattern_ids]
        with self._session() as session:
            rows = session.scalars(
                select(PatternRow.data).where(
                    PatternRow.namespace == namespace, PatternRow.pattern_id.in_(ids)
                )
            ).all()
        return [_PATTERN.validate_json(d) for d in rows]

    def list_patterns(
        self,
        namespace: str,
        *,
        kind: PatternKind | None = None,
        domain: str | None = None,
        limit: int | None = None,
    ) -> list[Pattern]:
        """Return patterns, most recently updated first."""
        stmt = select(PatternRow.data).where(PatternRow.namespace == namespace)
        if kind is not None:
            stmt = stmt.where(PatternRow.kind == kind)
        if domain is not None:
            stmt = stmt.where(PatternRow.domain == domain)
        stmt = stmt.order_by(PatternRow.updated_us.desc(), PatternRow.pattern_id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._session() as session:
            rows = session.scalars(stmt).all()
        return [_PATTERN.validate_json(d) for d in rows]

    def merge_patterns(
        self,
        namespace: str,
        episode_id: UUID | None,
        patterns: Sequence[Pattern],
        merge: PatternMerge,
    ) -> list[Pattern]:
        """Insert patterns, merging each into a stored match chosen by ``merge`` (atomic)."""
        if not patterns:
            return []
        result: list[Pattern] = []
        written: list[str] = []
        with self._session(write=True) as session:
            self._lock_namespace(session, namespace)
            # Patterns this episode was learned into before: merging into them again would
            # count the episode twice (it is being learned again).
            linked: set[str] = set()
            if episode_id is not None:
                linked = set(
                    session.scalars(
                        select(PatternEpisodeRow.pattern_id).where(
                            PatternEpisodeRow.namespace == namespace,
                            PatternEpisodeRow.episode_id == str(episode_id),
                        )
                    )
                )
            connection = session.connection()
            candidates: dict[tuple[str, str | None], list[Pattern]] = {}
            inserted: set[str] = set()
            final: dict[str, Pattern] = {}  # written once each, after all merges
            for pattern in patterns:
                group_key = (pattern.kind, pattern.domain)
                if group_key not in candidates:
                    stmt = _PATTERNS_NO_DOMAIN if pattern.domain is None else _PATTERNS_OF_DOMAIN
                    params = {"v_namespace": namespace, "v_kind": pattern.kind}
                    if pattern.domain is not None:
                        params["v_domain"] = pattern.domain
                    candidates[group_key] = [
                        _PATTERN.validate_json(d) for d in connection.scalars(stmt, params)
                    ]
                group = candidates[group_key]
                merged = merge(pattern, group)
                known = (
                    None
                    if merged is None or str(merged.pattern_id) not in linked
                    else next((p for p in group if p.pattern_id == merged.pattern_id), None)
                )
                if known is not None:
                    stored = known  # counted when the episode was first learned
                elif merged is None:
                    group.append(pattern)
                    stored = pattern
                    inserted.add(str(pattern.pattern_id))
                else:
                    group[:] = [merged if p.pattern_id == merged.pattern_id else p for p in group]
                    stored = merged
                if known is None:
                    final[str(stored.pattern_id)] = stored
                    written.append(str(stored.pattern_id))
                result.append(stored)
            rows = [_pattern_row(namespace, p) for p in final.values()]
            new_rows = [r for r in rows if r["pattern_id"] in inserted]
            if new_rows:
                connection.execute(insert(_PATTERNS_TABLE), new_rows)
            changed = [
                {f"v_{k}": v for k, v in r.items()} for r in rows if r["pattern_id"] not in inserted
            ]
            if changed:
                connection.execute(_UPDATE_PATTERN, changed)
            if episode_id is not None:
                links = [
                    {"namespace": namespace, "pattern_id": i, "episode_id": str(episode_id)}
                    for i in dict.fromkeys(str(p.pattern_id) for p in result)
                    if i not in linked
                ]
                if links:
                    session.execute(insert(PatternEpisodeRow), links)
            self._record(session, namespace, "pattern", list(dict.fromkeys(written)), "upsert")
        return result

    def update_patterns(
        self, namespace: str, pattern_ids: Sequence[UUID], update_fn: PatternUpdate
    ) -> list[Pattern]:
        """Atomically replace each listed pattern by ``update_fn(pattern)``; skip unknown ids."""
        ids = list(dict.fromkeys(str(i) for i in pattern_ids))
        if not ids:
            return []
        out: list[Pattern] = []
        with self._session(write=True) as session:
            self._lock_namespace(session, namespace)
            rows = session.scalars(
                select(PatternRow.data).where(
                    PatternRow.namespace == namespace, PatternRow.pattern_id.in_(ids)
                )
            ).all()
            for data in rows:
                updated = update_fn(_PATTERN.validate_json(data))
                row = _pattern_row(namespace, updated)
                session.execute(
                    update(PatternRow)
                    .where(
                        PatternRow.namespace == namespace,
                        PatternRow.pattern_id == row["pattern_id"],
                    )
                    .values({k: v for k, v in row.items() if k not in ("namespace", "pattern_id")})
                )
                out.append(updated)
            self._record(session, namespace, "pattern", [str(p.pattern_id) for p in out], "upsert")
        return out

    def delete_pattern(self, namespace: str, pattern_id: UUID) -> bool:
        """Delete a pattern; return False if it did not exist."""
        key = str(pattern_id)
        with self._session(write=True) as session:
            self._lock_namespace(session, namespace)
            session.execute(
                delete(PatternEpisodeRow).where(
                    PatternEpisodeRow.namespace == namespace, PatternEpisodeRow.pattern_id == key
                )
            )
            result = session.execute(
                delete(PatternRow).where(
                    PatternRow.namespace == namespace, PatternRow.pattern_id == key
                )
            )
            deleted = bool(result.rowcount)  # type: ignore[attr-defined]
            if deleted:
                self._record(session, namespace, "pattern", [key], "delete")
            return deleted

    def delete_patterns(self, namespace: str, pattern_ids: Sequence[UUID] | None = None) -> int:
        """Delete the listed patterns (None: all of the namespace) and their episode links.

        One transaction; returns how many were deleted.
        """
        return self._delete_all(
            namespace, PatternRow.pattern_id, PatternEpisodeRow.pattern_id, "pattern", pattern_ids
        )

    def _delete_all(
        self,
        namespace: str,
        column: Any,
        link_column: Any,
        entity: str,
        only: Sequence[UUID] | None,
    ) -> int:
        """Delete rows of ``column``'s table and their links (all, or the ``only`` ids)."""
        table, links = column.class_, link_column.class_
        with self._session(write=True) as session:
            self._lock_namespace(session, namespace)
            if only is None:
                keys = list(session.scalars(select(column).where(table.namespace == namespace)))
            else:
                wanted = list(dict.fromkeys(str(i) for i in only))
                keys = []
                for start in range(0, len(wanted), _CHUNK):
                    keys += session.scalars(
                        select(column).where(
                            table.namespace == namespace,
                            column.in_(wanted[start : start + _CHUNK]),
                        )
                    )
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                session.execute(
                    delete(links).where(links.namespace == namespace, link_column.in_(chunk))
                )
                session.execute(
                    delete(table).where(table.namespace == namespace, column.in_(chunk))
                )
            self._record(session, namespace, entity, keys, "delete")
        return len(keys)

    def pattern_episode_ids(self, namespace: str, pattern_id: UUID) -> list[UUID]:
        """Episodes linked to a pattern (its evidence), in no particular order."""
        with self._session() as session:
            ids = session.scalars(
                select(PatternEpisodeRow.episode_id).where(
                    PatternEpisodeRow.namespace == namespace,
                    PatternEpisodeRow.pattern_id == str(pattern_id),
                )
            ).all()
        return [UUID(i) for i in ids]

    # ------------------------------------------------------------- heuristics

    def merge_heuristics(
        self,
        namespace: str,
        heuristics: Sequence[Heuristic],
        merge: HeuristicMerge,
        *,
        episode_id: UUID | None = None,
    ) -> list[Heuristic]:
        """Insert heuristics, merging into stored matches (atomic, serialised like patterns).

        Like `merge_patterns`: links every result to ``episode_id``, and a heuristic already
        linked to it is returned as stored instead of being merged into again.
        """
        if not heuristics:
            return []
        out: list[Heuristic] = []
        written: list[str] = []
        with self._session(write=True) as session:
            self._lock_namespace(session, namespace)
            linked: set[str] = set()
            if episode_id is not None:
                linked = set(
                    session.scalars(
                        select(HeuristicEpisodeRow.heuristic_id).where(
                            HeuristicEpisodeRow.namespace == namespace,
                            HeuristicEpisodeRow.episode_id == str(episode_id),
                        )
                    )
                )
            stored = [
                Heuristic.model_validate_json(d)
                for d in session.scalars(
                    select(HeuristicRow.data).where(HeuristicRow.namespace == namespace)
                )
            ]
            for heuristic in heuristics:
                merged = merge(heuristic, stored)
                if merged is not None and str(merged.heuristic_id) in linked:
                    known = next((h for h in stored if h.heuristic_id == merged.heuristic_id), None)
                    if known is not None:  # counted when the episode was first learned
                        out.append(known)
                        continue
                value = heuristic if merged is None else merged
                row = {
                    "namespace": namespace,
                    "heuristic_id": str(value.heuristic_id),
                    "updated_us": _us(value.updated_at),
                    "data": value.model_dump_json(),
                }
                if merged is None:
                    session.execute(insert(HeuristicRow).values(row))
                    stored.append(value)
                else:
                    session.execute(
                        update(HeuristicRow)
                        .where(
                            HeuristicRow.namespace == namespace,
                            HeuristicRow.heuristic_id == row["heuristic_id"],
                        )
                        .values(updated_us=row["updated_us"], data=row["data"])
                    )
                    stored[:] = [
                        value if h.heuristic_id == value.heuristic_id else h for h in stored
                    ]
                out.append(value)
                written.append(str(value.heuristic_id))
            if episode_id is not None:
                links = [
                    {"namespace": namespace, "heuristic_id": i, "episode_id": str(episode_id)}
                    for i in dict.fromkeys(str(h.heuristic_id) for h in out)
                    if i not in linked
                ]
                if links:
                    session.execute(insert(HeuristicEpisodeRow), links)
            self._record(session, namespace, "heuristic", list(dict.fromkeys(written)), "upsert")
        return out

    def delete_heuristics(self, namespace: str, heuristic_ids: Sequence[UUID] | None = None) -> int:
        """Delete the listed heuristics (None: all of the namespace) and their episode links.

        One transaction; returns how many were deleted.
        """
        return self._delete_all(
            namespace,
            HeuristicRow.heuristic_id,
            HeuristicEpisodeRow.heuristic_id,
            "heuristic",
            heuristic_ids,
        )

    def count_patterns(self, namespace: str) -> int:
        """Patterns stored in the namespace."""
        stmt = select(func.count()).select_from(PatternRow).where(PatternRow.namespace == namespace)
        with self._session() as session:
            return int(session.scalar(stmt) or 0)

    def list_heuristics(self, namespace: str, *, limit: int | None = None) -> list[Heuristic]:
        """Return heuristics, most recently updated first."""
        stmt = (
            select(HeuristicRow.data)
            .where(HeuristicRow.namespace == namespace)
            .order_by(HeuristicRow.updated_us.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._session() as session:
            return [Heuristic.model_validate_json(d) for d in session.scalars(stmt)]

    # ------------------------------------------------------------ change feed

    @property
    def feed_in_commit_order(self) -> bool:
        """True on SQLite: one writer at a time, so entries become visible in sequence order.

        On PostgreSQL a sequence number is drawn at insert and becomes visible at commit,
        so a later number can be read before an earlier one (see `changes_since`).
        """
        return self.dialect == "sqlite"

    def changes_since(
        self,
        namespace: str,
        seq: int,
        *,
        limit: int = 10_000,
        entities: Collection[ChangeEntity] | None = None,
    ) -> list[Change]:
        """Entries of the change feed with a sequence number above ``seq``, in order.

        ``entities``: only the entries of those entities, and the namespace's deletion
        (see `memory_core.storage.EpisodeStore.changes_since`).

        Raises:
            ChangeFeedTrimmedError: Entries above ``seq`` were trimmed (`compact_changes`).
        """
        stmt = select(ChangeRow.seq, ChangeRow.entity, ChangeRow.entity_id, ChangeRow.op).where(
            ChangeRow.namespace == namespace, ChangeRow.seq > seq
        )
        if entities is not None:
            stmt = stmt.where(ChangeRow.entity.in_(sorted({*entities, "namespace"})))
        with self._session() as session:
            rows = session.execute(stmt.order_by(ChangeRow.seq).limit(limit)).all()
            # read after the entries: a trim committed meanwhile shows here, never unseen
            horizon = session.scalar(
                select(FeedHorizonRow.seq).where(FeedHorizonRow.namespace == namespace)
            )
        if horizon is not None and seq < horizon:
            raise ChangeFeedTrimmedError(namespace, seq, int(horizon))
        return [Change(int(s), e, UUID(i), o) for s, e, i, o in rows]  # type: ignore[arg-type]

    def last_change_seq(self, namespace: str) -> int:
        """The highest sequence number of the change feed (0 when empty)."""
        with self._session() as session:
            return int(
                session.scalar(
                    select(func.max(ChangeRow.seq)).where(ChangeRow.namespace == namespace)
                )
                or 0
            )

    def close(self) -> None:
        """Release connections."""
        self._engine.dispose()

    # ------------------------------------------------- embeddings (retrieval)

    def put_episode_embeddings(
        self, namespace: str, model: str, vectors: Mapping[UUID, Sequence[float]]
    ) -> None:
        """Store (or replace) episodes' embedding vectors made by embedder ``model``."""
        if not vectors:
            return
        ids = [str(i) for i in vectors]
        rows = [
            {
                "namespace": namespace,
                "episode_id": str(episode_id),
                "model": model[:200],
                "dim": len(vector),
                "vector": array("f", vector).tobytes(),
            }
            for episode_id, vector in vectors.items()
        ]
        with self._session(write=True) as session:
            session.execute(
                delete(EpisodeEmbeddingRow).where(
                    EpisodeEmbeddingRow.namespace == namespace,
                    EpisodeEmbeddingRow.model == model[:200],
                    EpisodeEmbeddingRow.episode_id.in_(ids),
                )
            )
            session.execute(insert(EpisodeEmbeddingRow), rows)

    def get_episode_embeddings(
        self, namespace: str, model: str, episode_ids: Sequence[UUID]
    ) -> dict[UUID, list[float]]:
        """Stored vectors of embedder ``model`` for the listed episodes (missing ones absent)."""
        ids = [str(i) for i in episode_ids]
        out: dict[UUID, list[float]] = {}
        with self._session() as session:
            for start in range(0, len(ids), 500):
                rows = session.execute(
                    select(EpisodeEmbeddingRow.episode_id, EpisodeEmbeddingRow.vector).where(
                        EpisodeEmbeddingRow.namespace == namespace,
                        EpisodeEmbeddingRow.model == model[:200],
                        EpisodeEmbeddingRow.episode_id.in_(ids[start : start + 500]),
                    )
                )
                for episode_id, blob in rows:
                    vector = array("f")
                    vector.frombytes(blob)
                    out[UUID(episode_id)] = vector.tolist()
        return out

    # ----------------------------------------- bulk import/export (portability)

    def export_episodes(
        self, namespace: str, *, after: tuple[datetime, UUID] | None = None, limit: int = 1000
    ) -> list[tuple[Episode, bool]]:
        """A page of episodes with their steps and learned flag, oldest first (keyset paged)."""
        stmt = select(
            EpisodeRow.episode_id, EpisodeRow.data, self._joined_steps, EpisodeRow.learned
        ).where(EpisodeRow.namespace == namespace)
        if after is not None:
            start, key = _us(after[0]), str(after[1])
            stmt = stmt.where(
                (EpisodeRow.start_us > start)
                | ((EpisodeRow.start_us == start) & (EpisodeRow.episode_id > key))
            )
        stmt = stmt.order_by(EpisodeRow.start_us, EpisodeRow.episode_id).limit(limit)
        with self._session() as session:
            rows = session.execute(stmt).all()
            episodes = self._episodes(session, namespace, rows)
        return [(e, bool(r[3])) for e, r in zip(episodes, rows, strict=True)]

    def pattern_links(self, namespace: str) -> list[tuple[UUID, UUID]]:
        """Every (pattern id, episode id) evidence link of the namespace, sorted."""
        with self._session() as session:
            rows = session.execute(
                select(PatternEpisodeRow.pattern_id, PatternEpisodeRow.episode_id)
                .where(PatternEpisodeRow.namespace == namespace)
                .order_by(PatternEpisodeRow.pattern_id, PatternEpisodeRow.episode_id)
            ).all()
        return [(UUID(p), UUID(e)) for p, e in rows]

    def _bulk_insert(self, session: Session, row: type[Base], rows: list[dict[str, Any]]) -> None:
        """Insert many rows with one driver-level ``COPY`` (PostgreSQL) or ``executemany``."""
        if not rows:
            return
        table = cast("Table", row.__table__)
        columns = list(rows[0])
        if self.dialect == "postgresql":
            raw = session.connection().connection.driver_connection
            assert raw is not None
            sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(sql) as copy:
                for values in rows:
                    copy.write_row(tuple(values[c] for c in columns))
            return
        mark = "?" if self._engine.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        session.connection().exec_driver_sql(sql, [tuple(r[c] for c in columns) for r in rows])

    def _missing_ids(
        self, session: Session, column: Any, namespace: str, ids: Sequence[str]
    ) -> set[str]:
        """The ids (of ``column``'s table, in ``namespace``) that are not stored yet.

        The ids travel as one parameter (a JSON array on SQLite, an array on PostgreSQL), so
        checking a large batch costs one cheap query.
        """
        wanted = set(ids)
        if not wanted:
            return wanted
        table, name = column.class_.__tablename__, column.key
        if self.dialect == "sqlite":
            sql = (
                f"SELECT {name} FROM {table} WHERE namespace = :ns "
                f"AND {name} IN (SELECT value FROM json_each(:ids))"
            )
            params: dict[str, Any] = {"ns": namespace, "ids": json.dumps(sorted(wanted))}
        else:
            sql = f"SELECT {name} FROM {table} WHERE namespace = :ns AND {name} = ANY(:ids)"
            params = {"ns": namespace, "ids": sorted(wanted)}
        found = set(session.scalars(text(sql), params))
        return wanted - found

    def import_records(
        self,
        namespace: str,
        episodes: Sequence[tuple[Episode, bool]],
        patterns: Sequence[tuple[Pattern, Sequence[UUID]]] = (),
        heuristics: Sequence[Heuristic] = (),
    ) -> tuple[int, int, int]:
        """Insert records whose ids are not stored yet, in one transaction (idempotent)."""
        if not (episodes or patterns or heuristics):
            return (0, 0, 0)
        with self._session(write=True) as session:
            self._lock_namespace(session, namespace)
            missing = self._missing_ids(
                session, EpisodeRow.episode_id, namespace, [str(e.episode_id) for e, _ in episodes]
            )
            episode_rows: list[dict[str, Any]] = []
            step_rows: list[dict[str, Any]] = []
            for episode, learned in episodes:
                key = str(episode.episode_id)
                if key not in missing:
                    continue
                missing.discard(key)  # a repeated id in the batch is inserted once
                episode_rows.append({**_episode_row(namespace, episode), "learned": learned})
                step_rows += [_step_row(namespace, episode.episode_id, s) for s in episode.steps]
            if episode_rows:
                self._bulk_insert(session, EpisodeRow, episode_rows)
            if step_rows:
                self._bulk_insert(session, StepRow, step_rows)
            if self.search_index is not None and episode_rows:
                inserted = {r["episode_id"] for r in episode_rows}
                self.search_index.episodes_stored(
                    session.connection(),
                    namespace,
                    [e for e, _ in episodes if str(e.episode_id) in inserted],
                    fresh=True,
                )

            missing = self._missing_ids(
                session, PatternRow.pattern_id, namespace, [str(p.pattern_id) for p, _ in patterns]
            )
            pattern_rows: list[dict[str, Any]] = []
            for pattern, _links in patterns:
                key = str(pattern.pattern_id)
                if key in missing:
                    missing.discard(key)
                    pattern_rows.append(_pattern_row(namespace, pattern))
            if pattern_rows:
                self._bulk_insert(session, PatternRow, pattern_rows)
            wanted_links = {(str(p.pattern_id), str(e)) for p, links in patterns for e in links}
            if wanted_links:
                pattern_keys = list({p for p, _ in wanted_links})
                existing: set[tuple[str, str]] = set()
                for start in range(0, len(pattern_keys), 500):
                    existing.update(
                        (p, e)
                        for p, e in session.execute(
                            select(
                                PatternEpisodeRow.pattern_id, PatternEpisodeRow.episode_id
                            ).where(
                                PatternEpisodeRow.namespace == namespace,
                                PatternEpisodeRow.pattern_id.in_(pattern_keys[start : start + 500]),
                            )
                        )
                    )
                links = [
                    {"namespace": namespace, "pattern_id": p, "episode_id": e}
                    for p, e in sorted(wanted_links - existing)
                ]
                if links:
                    self._bulk_insert(session, PatternEpisodeRow, links)

            missing = self._missing_ids(
                session,
                HeuristicRow.heuristic_id,
                namespace,
                [str(h.heuristic_id) for h in heuristics],
            )
            heuristic_rows: list[dict[str, Any]] = []
            for heuristic in heuristics:
                key = str(heuristic.heuristic_id)
                if key in missing:
                    missing.discard(key)
                    heuristic_rows.append(
                        {
                            "namespace": namespace,
                            "heuristic_id": key,
                            "updated_us": _us(heuristic.updated_at),
                            "data": heuristic.model_dump_json(),
                        }
                    )
            if heuristic_rows:
                self._bulk_insert(session, HeuristicRow, heuristic_rows)
                inserted = {r["heuristic_id"] for r in heuristic_rows}
                heuristic_links = {
                    (str(h.heuristic_id), str(e))
                    for h in heuristics
                    if str(h.heuristic_id) in inserted
                    for e in h.evidence
                }
                self._bulk_insert(
                    session,
                    HeuristicEpisodeRow,
                    [
                        {"namespace": namespace, "heuristic_id": h, "episode_id": e}
                        for h, e in sorted(heuristic_links)
                    ],
                )

            self._record(
                session, namespace, "episode", [r["episode_id"] for r in episode_rows], "upsert"
            )
            self._record(
                session, namespace, "pattern", [r["pattern_id"] for r in pattern_rows], "upsert"
            )
            self._record(
                session,
                namespace,
                "heuristic",
                [r["heuristic_id"] for r in heuristic_rows],
                "upsert",
            )
        return (len(episode_rows), len(pattern_rows), len(heuristic_rows))


def _with_links(data: str, pattern_ids: Sequence[UUID], heuristic_ids: Sequence[UUID]) -> str:
    """An episode header JSON with ids added to its ``pattern_ids`` / ``heuristic_ids``.

    A header whose lists are still empty (the common case: a first learning) gets them
    spliced in without parsing the episode; otherwise the lists are merged on the model.
    """
    if not pattern_ids and not heuristic_ids:
        return data
    if all(data.count(empty) == 1 for empty in _NO_LINKS):
        for empty, ids in zip(_NO_LINKS, (pattern_ids, heuristic_ids), strict=True):
            if ids:
                listed = ",".join(f'"{i}"' for i in dict.fromkeys(ids))
                data = data.replace(empty, f"{empty[:-2]}[{listed}]", 1)
        return data
    episode = Episode.model_validate_json(data)
    episode.pattern_ids = list(dict.fromkeys([*episode.pattern_ids, *pattern_ids]))
    episode.heuristic_ids = list(dict.fromkeys([*episode.heuristic_ids, *heuristic_ids]))
    return episode.model_dump_json()


def _pattern_values(pattern: Pattern) -> tuple[Any, ...]:
    """(pattern_id, kind, domain, success_rate, occurrence_count, updated_us, data)."""
    return (
        str(pattern.pattern_id),
        pattern.kind,
        pattern.domain,
        pattern.success_rate,
        pattern.occurrence_count,
        _us(pattern.updated_at),
        # An exact member's own serializer writes what the union's does, without choosing.
        pattern.model_dump_json()
        if type(pattern) in _PATTERN_TYPES
        else _PATTERN.dump_json(pattern).decode(),
    )


def _paced(items: Sequence[_T], pause: Callable[[], None], every: int = 16) -> Iterator[_T]:
    """``items``, calling ``pause`` before every ``every``-th one."""
    for number, item in enumerate(items):
        if not number % every:
            pause()
        yield item


def _heuristic_values(heuristic: Heuristic, data: str | None = None) -> tuple[Any, ...]:
    """(heuristic_id, updated_us, data); ``data`` is its JSON when already made."""
    return (
        str(heuristic.heuristic_id),
        _us(heuristic.updated_at),
        heuristic.model_dump_json() if data is None else data,
    )


class _LearningTransaction:
    """`LearningTransaction` over one open SQLAlchemy session (see the protocol)."""

    def __init__(self, store: SQLAlchemyEpisodeStore, session: Session, namespace: str) -> None:
        self._store = store
        self._session = session
        self._connection = session.connection()
        self._namespace = namespace
        self._states: dict[UUID, EpisodeState] = {}

    def _chunks(self, ids: Sequence[UUID]) -> Iterator[list[str]]:
        keys = list(dict.fromkeys(str(i) for i in ids))
        for start in range(0, len(keys), _CHUNK):
            yield keys[start : start + _CHUNK]

    def claim_unlearned(self, limit: int, *, exclude: Sequence[UUID] = ()) -> list[Episode]:
        """See `LearningTransaction.claim_unlearned`."""
        stmt = select(EpisodeRow.episode_id, EpisodeRow.data, self._store._joined_steps).where(
            EpisodeRow.namespace == self._namespace,
            EpisodeRow.learned.is_(False),
            EpisodeRow.end_us.is_not(None),
        )
        if exclude:
            stmt = stmt.where(EpisodeRow.episode_id.not_in([str(i) for i in exclude]))
        stmt = stmt.order_by(EpisodeRow.end_us, EpisodeRow.episode_id).limit(limit)
        if self._store.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = self._session.execute(stmt).all()
        for episode_id, data, _ in rows:
            self._states[UUID(episode_id)] = EpisodeState(learned=False, data=data)
        return self._store._episodes(self._session, self._namespace, rows)

    def episode_states(self, episode_ids: Sequence[UUID]) -> dict[UUID, EpisodeState]:
        """See `LearningTransaction.episode_states` (PostgreSQL skips rows claimed elsewhere)."""
        missing = [i for i in dict.fromkeys(episode_ids) if i not in self._states]
        for chunk in self._chunks(missing):
            stmt = (
                select(EpisodeRow.episode_id, EpisodeRow.learned, EpisodeRow.data)
                .where(EpisodeRow.namespace == self._namespace, EpisodeRow.episode_id.in_(chunk))
                .order_by(EpisodeRow.episode_id)
            )
            if self._store.dialect == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            for episode_id, learned, data in self._session.execute(stmt):
                self._states[UUID(episode_id)] = EpisodeState(learned=bool(learned), data=data)
        return {i: self._states[i] for i in episode_ids if i in self._states}

    def lock(self) -> None:
        """See `LearningTransaction.lock`."""
        self._store._lock_namespace(self._session, self._namespace)

    def last_change_seq(self) -> int:
        """See `LearningTransaction.last_change_seq`."""
        return int(
            self._session.scalar(
                select(func.max(ChangeRow.seq)).where(ChangeRow.namespace == self._namespace)
            )
            or 0
        )

    def pattern_changes_since(self, seq: int, limit: int) -> list[Change]:
        """See `LearningTransaction.pattern_changes_since`."""
        rows = self._session.execute(
            select(ChangeRow.seq, ChangeRow.entity, ChangeRow.entity_id, ChangeRow.op)
            .where(
                ChangeRow.namespace == self._namespace,
                ChangeRow.seq > seq,
                ChangeRow.entity.in_(("pattern", "heuristic", "namespace")),
            )
            .order_by(ChangeRow.seq)
            .limit(limit)
        ).all()
        return [Change(int(s), e, UUID(i), o) for s, e, i, o in rows]  # type: ignore[arg-type]

    def patterns_of(self, kind: PatternKind, domain: str | None) -> list[Pattern]:
        """See `LearningTransaction.patterns_of`."""
        params = {"v_namespace": self._namespace, "v_kind": kind}
        if domain is None:
            stmt = _PATTERNS_NO_DOMAIN
        else:
            stmt, params["v_domain"] = _PATTERNS_OF_DOMAIN, domain
        return [_PATTERN.validate_json(d) for d in self._connection.scalars(stmt, params)]

    def get_patterns(self, pattern_ids: Sequence[UUID]) -> list[Pattern]:
        """See `LearningTransaction.get_patterns`."""
        out: list[Pattern] = []
        for chunk in self._chunks(pattern_ids):
            out += [
                _PATTERN.validate_json(d)
                for d in self._session.scalars(
                    select(PatternRow.data).where(
                        PatternRow.namespace == self._namespace, PatternRow.pattern_id.in_(chunk)
                    )
                )
            ]
        return out

    def heuristics(self, heuristic_ids: Sequence[UUID] | None = None) -> list[Heuristic]:
        """See `LearningTransaction.heuristics`."""
        stmt = select(HeuristicRow.data).where(HeuristicRow.namespace == self._namespace)
        if heuristic_ids is None:
            return [Heuristic.model_validate_json(d) for d in self._session.scalars(stmt)]
        out: list[Heuristic] = []
        for chunk in self._chunks(heuristic_ids):
            out += [
                Heuristic.model_validate_json(d)
                for d in self._session.scalars(stmt.where(HeuristicRow.heuristic_id.in_(chunk)))
            ]
        return out

    def links(
        self, episode_ids: Sequence[UUID]
    ) -> tuple[set[tuple[UUID, UUID]], set[tuple[UUID, UUID]]]:
        """See `LearningTransaction.links` (the ids travel as one parameter)."""
        keys = list(dict.fromkeys(str(i) for i in episode_ids))
        if not keys:
            return set(), set()
        found = []
        for table, column in (
            ("mc_pattern_episodes", "pattern_id"),
            ("mc_heuristic_episodes", "heuristic_id"),
        ):
            sql = f"SELECT {column}, episode_id FROM {table} WHERE namespace = ? AND episode_id "
            if self._store.dialect == "sqlite":
                # Without the hint SQLite walks the namespace's whole primary key (every link
                # it has) instead of looking the episodes up in the by-episode index.
                sql = sql.replace(" WHERE", f" INDEXED BY ix_{table}_episode WHERE")
                sql += "IN (SELECT value FROM json_each(?))"
                ids: Any = json.dumps(keys)
            else:
                sql = sql.replace("?", "%s") + "= ANY(%s)"
                ids = keys
            rows = self._connection.exec_driver_sql(sql, (self._namespace, ids))
            found.append({(UUID(a), UUID(b)) for a, b in rows})
        return found[0], found[1]

    def write(self, writes: LearningWrites) -> None:
        """See `LearningTransaction.write`: one driver-level ``executemany`` per kind of row.

        Plain DB-API calls: SQLAlchemy's per-row parameter processing cost more than the
        statements themselves.
        """
        ns = self._namespace
        pause = writes.pause
        patterns = [_pattern_values(p) for p in _paced(writes.new_patterns, pause)]
        self._many(
            "INSERT INTO mc_patterns (pattern_id, kind, domain, success_rate, occurrence_count, "
            "updated_us, data, namespace) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(*v, ns) for v in patterns],
        )
        changed = [_pattern_values(p) for p in _paced(writes.changed_patterns, pause)]
        self._many(
            "UPDATE mc_patterns SET kind = ?, domain = ?, success_rate = ?, occurrence_count = ?, "
            "updated_us = ?, data = ? WHERE namespace = ? AND pattern_id = ?",
            [(*v[1:], ns, v[0]) for v in changed],
        )
        made = writes.serialized
        self._many(
            "INSERT INTO mc_heuristics (heuristic_id, updated_us, data, namespace) "
            "VALUES (?, ?, ?, ?)",
            [(*_heuristic_values(h, made.get(h.heuristic_id)), ns) for h in writes.new_heuristics],
        )
        changed_heuristics = [
            _heuristic_values(h, made.get(h.heuristic_id)) for h in writes.changed_heuristics
        ]
        self._many(
            "UPDATE mc_heuristics SET updated_us = ?, data = ? "
            "WHERE namespace = ? AND heuristic_id = ?",
            [(*v[1:], ns, v[0]) for v in changed_heuristics],
        )
        self._many(
            "INSERT INTO mc_pattern_episodes (namespace, pattern_id, episode_id) VALUES (?, ?, ?)",
            [(ns, str(p), str(e)) for p, e in writes.pattern_links],
        )
        self._many(
            "INSERT INTO mc_heuristic_episodes (namespace, heuristic_id, episode_id) "
            "VALUES (?, ?, ?)",
            [(ns, str(h), str(e)) for h, e in writes.heuristic_links],
        )
        learned = [str(e.episode_id) for e in writes.learned]
        self._many(
            "UPDATE mc_episodes SET learned = ?, data = ? WHERE namespace = ? AND episode_id = ?",
            [
                (True, _with_links(e.data, e.pattern_ids, e.heuristic_ids), ns, key)
                for e, key in zip(writes.learned, learned, strict=True)
            ],
        )
        pattern_ids = [v[0] for v in patterns] + [v[0] for v in changed]
        heuristic_ids = [str(h.heuristic_id) for h in writes.new_heuristics]
        heuristic_ids += [str(h.heuristic_id) for h in writes.changed_heuristics]
        changes = [
            ("pattern", pattern_ids),
            ("heuristic", heuristic_ids),
            ("episode", learned),
        ]
        self._many(
            "INSERT INTO mc_changes (namespace, entity, entity_id, op) VALUES (?, ?, ?, ?)",
            [(ns, entity, i, "upsert") for entity, ids in changes for i in ids],
        )
        feed = self._session.info.setdefault(_CHANGES, [])
        feed += [(ns, entity, ids, "upsert") for entity, ids in changes if ids]

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            if self._store.dialect != "sqlite":
                sql = sql.replace("?", "%s")
            self._connection.exec_driver_sql(sql, rows)
