"""Deleting data for good: episodes with everything that points at them, whole namespaces.

`SQLAlchemyEpisodeStore` provides these (mixed in); a third-party store that wants pruning
and erasure implements `LifecycleStore` too.

Deleting an episode removes its steps, stored embeddings, retrieval counts, change-feed
entries and its evidence links, and takes it out of the ``evidence`` of the patterns and
heuristics it fed. Those keep their learned counts (``occurrence_count``, outcome
statistics, ``sample_size``): the episodes were observed, even if they are no longer kept.
A pattern or heuristic left with no linked episode is deleted too when asked
(``drop_orphans``). The deletion is recorded in the change feed, so every process drops
the episodes from its search index and caches.

Deleting a namespace removes every row of every memory-core table that carries it (change
feed included) in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, LargeBinary, Table, cast, delete, func, select, update
from sqlalchemy.orm import Session

from memory_core.errors import InvalidInputError
from memory_core.models import ContextPattern, Heuristic, Pattern
from memory_core.storage._schema import (
    Base,
    ChangeRow,
    EpisodeEmbeddingRow,
    EpisodeRow,
    EpisodeUsageRow,
    FeedHorizonRow,
    HeuristicEpisodeRow,
    HeuristicRow,
    PatternEpisodeRow,
    PatternRow,
    StepRow,
)
from memory_core.storage.base import NAMESPACE_DELETED
from memory_core.storage.search_index import SearchIndex

__all__ = [
    "FEED_DELETIONS_KEPT",
    "DeletionCounts",
    "ErasureQueries",
    "LifecycleStore",
    "NamespaceUsage",
    "RetentionCandidate",
]

_PATTERN = TypeAdapter[Pattern](Pattern)
_CHUNK = 500

FEED_DELETIONS_KEPT = 10_000
"""Episode deletions a namespace's change feed keeps (`ErasureQueries.compact_changes`).

A follower that falls further behind than this rebuilds its view instead of replaying."""


@dataclass(frozen=True, slots=True)
class DeletionCounts:
    """What a deletion removed (or, for a dry run, would remove).

    Attributes:
        episodes: Episodes deleted.
        steps: Their steps.
        embeddings: Their stored embedding vectors.
        pattern_links: Pattern evidence links removed.
        heuristic_links: Heuristic evidence links removed.
        patterns_updated: Patterns whose ``evidence`` lost deleted episodes.
        patterns_deleted: Patterns deleted because no linked episode was left.
        heuristics_updated: Heuristics whose ``evidence`` lost deleted episodes.
        heuristics_deleted: Heuristics deleted because no linked episode was left.
        bytes: Bytes of the deleted rows' stored payload (episode, step JSON and vectors).
    """

    episodes: int = 0
    steps: int = 0
    embeddings: int = 0
    pattern_links: int = 0
    heuristic_links: int = 0
    patterns_updated: int = 0
    patterns_deleted: int = 0
    heuristics_updated: int = 0
    heuristics_deleted: int = 0
    bytes: int = 0

    def __add__(self, other: DeletionCounts) -> DeletionCounts:
        """Field-wise sum."""
        return DeletionCounts(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )


@dataclass(frozen=True, slots=True)
class NamespaceUsage:
    """One namespace's contents.

    Attributes:
        namespace: Its name.
        episodes: Episodes stored (in flight included).
        patterns: Patterns stored.
        heuristics: Heuristics stored.
        bytes: Bytes of stored payload (episode, step, pattern, heuristic JSON and
            embedding vectors); indexes and page overhead come on top.
    """

    namespace: str
    episodes: int
    patterns: int
    heuristics: int
    bytes: int


@dataclass(frozen=True, slots=True)
class RetentionCandidate:
    """A completed, learned episode that retention may delete, with what it is worth.

    Attributes:
        episode_id: The episode.
        end_us: Completion time (microseconds since the epoch).
        reward: Its reward total (None: not scored).
        retrievals: How often retrieval returned it.
        sole_evidence: True when some pattern has no other linked episode.
    """

    episode_id: str
    end_us: int
    reward: float | None
    retrievals: int
    sole_evidence: bool


@runtime_checkable
class LifecycleStore(Protocol):
    """What pruning and erasure need from a store (`SQLAlchemyEpisodeStore` has it)."""

    def delete_episodes(
        self,
        namespace: str,
        episode_ids: Sequence[UUID | str],
        *,
        drop_orphans: bool = False,
        learned_only: bool = False,
        keep_at_least: int | None = None,
    ) -> DeletionCounts:
        """Delete episodes and what points at them in one transaction (module doc)."""
        ...

    def measure_deletion(self, namespace: str, episode_ids: Sequence[str]) -> DeletionCounts:
        """What `delete_episodes` would remove (episodes, steps, links, bytes), read only."""
        ...

    def retention_candidates(self, namespace: str) -> list[RetentionCandidate]:
        """Every completed, learned episode of the namespace with its value inputs."""
        ...

    def count_episodes(self, namespace: str, *, completed: bool | None = None) -> int:
        """Count episodes (optionally only completed or only in-flight ones)."""
        ...

    def record_episode_retrievals(self, namespace: str, counts: Mapping[UUID, int]) -> None:
        """Add to the episodes' retrieval counts (episodes deleted meanwhile are skipped)."""
        ...

    def namespace_usage(self) -> list[NamespaceUsage]:
        """Every namespace with its counts and payload size, by name."""
        ...

    def compact_changes(self, namespace: str, *, keep_deletions: int = FEED_DELETIONS_KEPT) -> int:
        """Delete superseded change-feed entries and all but the newest episode deletions."""
        ...

    def delete_namespace(self, namespace: str) -> NamespaceUsage:
        """Delete everything of one namespace in one transaction; returns what it held."""
        ...


def _chunks(keys: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield list(keys[start : start + _CHUNK])


def _pattern_without(data: str, gone: set[str]) -> dict[str, Any] | None:
    """New column values of a stored pattern without the ``gone`` episodes (None: unchanged).

    The learned count stays: a context pattern counts its evidence too.
    """
    pattern = _PATTERN.validate_json(data)
    evidence = [e for e in pattern.evidence if str(e) not in gone]
    if len(evidence) == len(pattern.evidence):
        return None
    count = pattern.sample_size if isinstance(pattern, ContextPattern) else pattern.occurrence_count
    kept = pattern.model_copy(update={"evidence": evidence, "occurrence_count": count})
    return {"occurrence_count": count, "data": _PATTERN.dump_json(kept).decode()}


def _heuristic_without(data: str, gone: set[str]) -> dict[str, Any] | None:
    """New column values of a stored heuristic without the ``gone`` episodes (None: unchanged)."""
    heuristic = Heuristic.model_validate_json(data)
    evidence = [e for e in heuristic.evidence if str(e) not in gone]
    if len(evidence) == len(heuristic.evidence):
        return None
    return {"data": heuristic.model_copy(update={"evidence": evidence}).model_dump_json()}


@dataclass(frozen=True, slots=True)
class _EvidenceKind:
    """What erasure needs to know of patterns or of heuristics."""

    entity: str
    table: Any
    key: Any
    link: Any
    without: Callable[[str, set[str]], dict[str, Any] | None]


_PATTERNS = _EvidenceKind(
    "pattern", PatternRow, PatternRow.pattern_id, PatternEpisodeRow.pattern_id, _pattern_without
)
_HEURISTICS = _EvidenceKind(
    "heuristic",
    HeuristicRow,
    HeuristicRow.heuristic_id,
    HeuristicEpisodeRow.heuristic_id,
    _heuristic_without,
)


class ErasureQueries:
    """`LifecycleStore` for the SQLAlchemy store (mixed into `SQLAlchemyEpisodeStore`)."""

    dialect: str
    search_index: SearchIndex | None

    def _session(self, *, write: bool = False) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by the store

    def _lock_namespace(self, session: Session, namespace: str) -> None:
        raise NotImplementedError  # provided by the store

    @staticmethod
    def _record(session: Session, namespace: str, entity: str, ids: Sequence[str], op: str) -> None:
        raise NotImplementedError  # provided by the store

    @staticmethod
    def _announce(session: Session, namespace: str, entity: str, ids: list[str], op: str) -> None:
        raise NotImplementedError  # provided by the store

    def _size(self, column: Any) -> ColumnElement[Any]:
        """Bytes of a text or binary column's value."""
        if self.dialect == "postgresql":
            return func.coalesce(func.sum(func.octet_length(column)), 0)
        return func.coalesce(func.sum(func.length(cast(column, LargeBinary))), 0)

    # -------------------------------------------------------------- episodes

    def delete_episodes(
        self,
        namespace: str,
        episode_ids: Sequence[UUID | str],
        *,
        drop_orphans: bool = False,
        learned_only: bool = False,
        keep_at_least: int | None = None,
    ) -> DeletionCounts:
        """Delete episodes and what points at them, in one transaction (see the module doc).

        Args:
            namespace: The tenant.
            episode_ids: Episodes to delete (unknown ids are skipped).
            drop_orphans: Also delete patterns and heuristics left with no linked episode.
            learned_only: Delete only completed episodes that learning has processed.
            keep_at_least: Stop once the namespace is down to this many completed episodes
                (counted inside the transaction, so concurrent pruners never overshoot).
        """
        keys = list(dict.fromkeys(str(i) for i in episode_ids))
        if not keys:
            return DeletionCounts()
        with self._session(write=True) as session:
            self._lock_namespace(session, namespace)
            if keep_at_least is not None:
                completed = session.scalar(
                    select(func.count())
                    .select_from(EpisodeRow)
                    .where(EpisodeRow.namespace == namespace, EpisodeRow.end_us.is_not(None))
                )
                keys = keys[: max(0, int(completed or 0) - keep_at_least)]
            counts = DeletionCounts()
            deleted: list[str] = []
            pattern_ids: set[str] = set()
            heuristic_ids: set[str] = set()
            for chunk in _chunks(keys):
                stmt = select(EpisodeRow.episode_id).where(
                    EpisodeRow.namespace == namespace, EpisodeRow.episode_id.in_(chunk)
                )
                if learned_only:
                    stmt = stmt.where(EpisodeRow.learned.is_(True), EpisodeRow.end_us.is_not(None))
                found = list(session.scalars(stmt))
                if not found:
                    continue
                counts += self._measure(session, namespace, found)
                pattern_ids.update(
                    session.scalars(
                        select(PatternEpisodeRow.pattern_id).where(
                            PatternEpisodeRow.namespace == namespace,
                            PatternEpisodeRow.episode_id.in_(found),
                        )
                    )
                )
                heuristic_ids.update(
                    session.scalars(
                        select(HeuristicEpisodeRow.heuristic_id).where(
                            HeuristicEpisodeRow.namespace == namespace,
                            HeuristicEpisodeRow.episode_id.in_(found),
                        )
                    )
                )
                if self.search_index is not None:  # its term statistics, before the rows go
                    self.search_index.episodes_deleted(session.connection(), namespace, found)
                for row in (
                    StepRow,
                    EpisodeEmbeddingRow,
                    EpisodeUsageRow,
                    PatternEpisodeRow,
                    HeuristicEpisodeRow,
                    EpisodeRow,
                ):
                    table = row.__table__
                    assert isinstance(table, Table)
                    session.execute(
                        delete(table).where(
                            table.c.namespace == namespace, table.c.episode_id.in_(found)
                        )
                    )
                # Earlier feed entries of these episodes are superseded by their deletion.
                session.execute(
                    delete(ChangeRow).where(
                        ChangeRow.namespace == namespace,
                        ChangeRow.entity == "episode",
                        ChangeRow.entity_id.in_(found),
                    )
                )
                deleted += found
            gone = set(deleted)
            counts += self._drop_evidence(session, namespace, pattern_ids, gone, drop_orphans)
            counts += self._drop_heuristic_evidence(
                session, namespace, heuristic_ids, gone, drop_orphans
            )
            self._record(session, namespace, "episode", deleted, "delete")
        return counts

    def _measure(self, session: Session, namespace: str, ids: list[str]) -> DeletionCounts:
        """Counts and payload bytes of the listed (existing) episodes' rows."""
        episodes, episode_bytes = session.execute(
            select(func.count(), self._size(EpisodeRow.data)).where(
                EpisodeRow.namespace == namespace, EpisodeRow.episode_id.in_(ids)
            )
        ).one()
        steps, step_bytes = session.execute(
            select(func.count(), self._size(StepRow.data)).where(
                StepRow.namespace == namespace, StepRow.episode_id.in_(ids)
            )
        ).one()
        vectors, vector_bytes = session.execute(
            select(func.count(), self._size(EpisodeEmbeddingRow.vector)).where(
                EpisodeEmbeddingRow.namespace == namespace, EpisodeEmbeddingRow.episode_id.in_(ids)
            )
        ).one()
        links = [
            int(
                session.scalar(
                    select(func.count())
                    .select_from(row)
                    .where(row.namespace == namespace, row.episode_id.in_(ids))
                )
                or 0
            )
            for row in (PatternEpisodeRow, HeuristicEpisodeRow)
        ]
        return DeletionCounts(
            episodes=int(episodes),
            steps=int(steps),
            embeddings=int(vectors),
            pattern_links=links[0],
            heuristic_links=links[1],
            bytes=int(episode_bytes) + int(step_bytes) + int(vector_bytes),
        )

    def measure_deletion(self, namespace: str, episode_ids: Sequence[str]) -> DeletionCounts:
        """What `delete_episodes` would remove (episodes, steps, links, bytes), read only."""
        counts = DeletionCounts()
        with self._session() as session:
            for chunk in _chunks(list(dict.fromkeys(episode_ids))):
                counts += self._measure(session, namespace, chunk)
        return counts

    def _linked(self, session: Session, column: Any, namespace: str, ids: set[str]) -> set[str]:
        """Which of ``ids`` (patterns or heuristics) still have a linked episode."""
        table = column.class_
        out: set[str] = set()
        for chunk in _chunks(sorted(ids)):
            out.update(
                session.scalars(
                    select(column).where(table.namespace == namespace, column.in_(chunk)).distinct()
                )
            )
        return out

    def _drop_evidence(
        self, session: Session, namespace: str, ids: set[str], gone: set[str], drop: bool
    ) -> DeletionCounts:
        """Take deleted episodes out of patterns' evidence; delete orphans if ``drop``."""
        changed, orphans = self._without_episodes(session, namespace, _PATTERNS, ids, gone, drop)
        return DeletionCounts(patterns_updated=changed, patterns_deleted=orphans)

    def _drop_heuristic_evidence(
        self, session: Session, namespace: str, ids: set[str], gone: set[str], drop: bool
    ) -> DeletionCounts:
        """Take deleted episodes out of heuristics' evidence; delete orphans if ``drop``."""
        changed, orphans = self._without_episodes(session, namespace, _HEURISTICS, ids, gone, drop)
        return DeletionCounts(heuristics_updated=changed, heuristics_deleted=orphans)

    def _without_episodes(
        self,
        session: Session,
        namespace: str,
        kind: _EvidenceKind,
        ids: set[str],
        gone: set[str],
        drop: bool,
    ) -> tuple[int, int]:
        """Take ``gone`` episodes out of the evidence of ``ids`` (patterns or heuristics).

        Those left with no linked episode are deleted if ``drop``. Returns (updated,
        deleted).
        """
        if not ids:
            return 0, 0
        orphans = ids - self._linked(session, kind.link, namespace, ids)
        if drop and orphans:
            for chunk in _chunks(sorted(orphans)):
                session.execute(
                    delete(kind.table).where(kind.table.namespace == namespace, kind.key.in_(chunk))
                )
            self._record(session, namespace, kind.entity, sorted(orphans), "delete")
        else:
            orphans = set()
        changed: list[str] = []
        for chunk in _chunks(sorted(ids - orphans)):
            rows = session.execute(
                select(kind.key, kind.table.data).where(
                    kind.table.namespace == namespace, kind.key.in_(chunk)
                )
            ).all()
            for key, data in rows:
                values = kind.without(data, gone)
                if values is None:
                    continue
                session.execute(
                    update(kind.table)
                    .where(kind.table.namespace == namespace, kind.key == key)
                    .values(**values)
                )
                changed.append(key)
        self._record(session, namespace, kind.entity, changed, "upsert")
        return len(changed), len(orphans)

    # -------------------------------------------------------------- retention

    def retention_candidates(self, namespace: str) -> list[RetentionCandidate]:
        """Every completed, learned episode of the namespace with its value inputs."""
        sole = (
            select(PatternEpisodeRow.pattern_id)
            .where(PatternEpisodeRow.namespace == namespace)
            .group_by(PatternEpisodeRow.pattern_id)
            .having(func.count() == 1)
        )
        with self._session() as session:
            only = set(
                session.scalars(
                    select(PatternEpisodeRow.episode_id).where(
                        PatternEpisodeRow.namespace == namespace,
                        PatternEpisodeRow.pattern_id.in_(sole),
                    )
                )
            )
            rows = session.execute(
                select(
                    EpisodeRow.episode_id,
                    EpisodeRow.end_us,
                    EpisodeRow.reward_total,
                    func.coalesce(EpisodeUsageRow.retrievals, 0),
                )
                .outerjoin(
                    EpisodeUsageRow,
                    (EpisodeUsageRow.namespace == EpisodeRow.namespace)
                    & (EpisodeUsageRow.episode_id == EpisodeRow.episode_id),
                )
                .where(
                    EpisodeRow.namespace == namespace,
                    EpisodeRow.learned.is_(True),
                    EpisodeRow.end_us.is_not(None),
                )
            ).all()
        return [
            RetentionCandidate(
                episode_id=i,
                end_us=int(end or 0),
                reward=None if reward is None else float(reward),
                retrievals=int(used),
                sole_evidence=i in only,
            )
            for i, end, reward, used in rows
        ]

    def record_episode_retrievals(self, namespace: str, counts: Mapping[UUID, int]) -> None:
        """Add to the episodes' retrieval counts (episodes deleted meanwhile are skipped)."""
        if not counts:
            return
        from memory_core.models import utcnow
        from memory_core.storage.browse import micros

        now = micros(utcnow())
        mark = "?" if self.dialect == "sqlite" else "%s"
        sql = (
            "INSERT INTO mc_episode_usage (namespace, episode_id, retrievals, last_retrieved_us) "
            f"SELECT namespace, episode_id, {mark}, {mark} FROM mc_episodes "
            f"WHERE namespace = {mark} AND episode_id = {mark} "
            "ON CONFLICT (namespace, episode_id) DO UPDATE SET "
            "retrievals = mc_episode_usage.retrievals + excluded.retrievals, "
            "last_retrieved_us = excluded.last_retrieved_us"
        )
        rows = [(n, now, namespace, str(i)) for i, n in sorted(counts.items())]
        with self._session(write=True) as session:
            session.connection().exec_driver_sql(sql, rows)

    # ------------------------------------------------------------ change feed

    def compact_changes(self, namespace: str, *, keep_deletions: int = FEED_DELETIONS_KEPT) -> int:
        """Delete superseded change-feed entries and all but the newest episode deletions.

        A follower of the feed only needs each entity's latest change (an upsert makes it
        re-read the entity, a delete drops it), so older entries are dead weight: without
        this the feed grows by several rows per learned episode. Each call looks at the
        entries added since the previous call (in this process), so it stays cheap; the
        first call covers the whole namespace.

        An episode's deletion is never superseded, so a pruned namespace would keep one
        entry per episode it ever dropped. All but the newest ``keep_deletions`` of them
        are trimmed, and the namespace's feed horizon moves up to the newest one trimmed:
        `changes_since` from a position below it raises `ChangeFeedTrimmedError`, and the
        follower rebuilds its view from the stored episodes.

        Args:
            namespace: The namespace whose feed to compact.
            keep_deletions: How many of the newest episode deletions to keep (at least 1).

        Returns:
            How many entries were deleted.
        """
        if keep_deletions < 1:
            raise InvalidInputError(f"keep_deletions must be at least 1, got {keep_deletions}")
        marks: dict[str, int] = self.__dict__.setdefault("_compacted_to", {})
        after = marks.get(namespace, 0)
        mark = "?" if self.dialect == "sqlite" else "%s"
        deleted = 0
        with self._session(write=True) as session:
            self._lock_namespace(session, namespace)
            connection = session.connection()
            upto = connection.exec_driver_sql(
                f"SELECT max(seq) FROM mc_changes WHERE namespace = {mark}", (namespace,)
            ).scalar()
            if upto is not None and int(upto) > after:
                result = connection.exec_driver_sql(
                    "DELETE FROM mc_changes WHERE seq IN (SELECT o.seq FROM mc_changes n "
                    "JOIN mc_changes o ON o.namespace = n.namespace "
                    "AND o.entity_id = n.entity_id AND o.entity = n.entity AND o.seq < n.seq "
                    f"WHERE n.namespace = {mark} AND n.seq > {mark} AND n.seq <= {mark})",
                    (namespace, after, int(upto)),
                )
                deleted += int(result.rowcount or 0)
            deleted += self._trim_deletions(session, namespace, keep_deletions)
        if upto is not None:
            marks[namespace] = max(after, int(upto))
        return deleted

    @staticmethod
    def _trim_deletions(session: Session, namespace: str, keep: int) -> int:
        """Trim all but the newest ``keep`` episode deletions and raise the feed horizon."""
        deletion = (
            (ChangeRow.namespace == namespace)
            & (ChangeRow.entity == "episode")
            & (ChangeRow.op == "delete")
        )
        cutoff = session.scalar(
            select(ChangeRow.seq).where(deletion).order_by(ChangeRow.seq.desc()).offset(keep)
        )
        if cutoff is None:
            return 0
        result = session.execute(delete(ChangeRow).where(deletion, ChangeRow.seq <= cutoff))
        horizon = session.scalar(
            select(FeedHorizonRow.seq).where(FeedHorizonRow.namespace == namespace)
        )
        if horizon is None:
            session.add(FeedHorizonRow(namespace=namespace, seq=cutoff))
        elif horizon < cutoff:
            session.execute(
                update(FeedHorizonRow)
                .where(FeedHorizonRow.namespace == namespace)
                .values(seq=cutoff)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    # ------------------------------------------------------------- namespaces

    def namespace_usage(self) -> list[NamespaceUsage]:
        """Every namespace with its counts and payload size, by name."""
        counted: dict[Any, str] = {
            EpisodeRow: "episodes",
            PatternRow: "patterns",
            HeuristicRow: "heuristics",
        }
        sized: list[tuple[Any, Any]] = [
            (EpisodeRow, EpisodeRow.data),
            (StepRow, StepRow.data),
            (PatternRow, PatternRow.data),
            (HeuristicRow, HeuristicRow.data),
            (EpisodeEmbeddingRow, EpisodeEmbeddingRow.vector),
        ]
        found: dict[str, dict[str, int]] = {}
        with self._session() as session:
            for table in _namespaced_tables():
                names = select(table.c.namespace).distinct()
                if table is ChangeRow.__table__:  # a deleted namespace's last entry
                    names = names.where(table.c.entity != "namespace")
                for (name,) in session.execute(names):
                    found.setdefault(name, {})
            for row, what in counted.items():
                for name, count in session.execute(
                    select(row.namespace, func.count()).group_by(row.namespace)
                ):
                    found.setdefault(name, {})[what] = int(count)
            for row, column in sized:
                for name, size in session.execute(
                    select(row.namespace, self._size(column)).group_by(row.namespace)
                ):
                    entry = found.setdefault(name, {})
                    entry["bytes"] = entry.get("bytes", 0) + int(size)
        return [
            NamespaceUsage(
                namespace=name,
                episodes=values.get("episodes", 0),
                patterns=values.get("patterns", 0),
                heuristics=values.get("heuristics", 0),
                bytes=values.get("bytes", 0),
            )
            for name, values in sorted(found.items())
        ]

    def delete_namespace(self, namespace: str) -> NamespaceUsage:
        """Delete every row of every memory-core table in ``namespace``, in one transaction.

        Nothing of any other namespace is touched. In-process listeners hear of the deleted
        episodes, patterns and heuristics. The namespace's change feed goes too, but for one
        entry saying the namespace was deleted: other processes with the namespace open drop
        what they hold of it (index, cached episodes, learning candidates) when they next
        read the feed. That entry is all that is left of the namespace.

        Returns:
            What the namespace held (all zero when it did not exist).
        """
        before = next((u for u in self.namespace_usage() if u.namespace == namespace), None)
        with self._session(write=True) as session:
            self._lock_namespace(session, namespace)
            gone = {
                entity: list(
                    session.scalars(select(column).where(column.class_.namespace == namespace))
                )
                for entity, column in (
                    ("episode", EpisodeRow.episode_id),
                    ("pattern", PatternRow.pattern_id),
                    ("heuristic", HeuristicRow.heuristic_id),
                )
            }
            # The entry saying so comes first: its sequence number must be above every
            # entry of the namespace (SQLite reuses the numbers of the newest rows deleted).
            self._record(session, namespace, "namespace", [str(NAMESPACE_DELETED)], "delete")
            marker = session.scalar(
                select(func.max(ChangeRow.seq)).where(
                    ChangeRow.namespace == namespace, ChangeRow.entity == "namespace"
                )
            )
            for table in _namespaced_tables():
                rows = delete(table).where(table.c.namespace == namespace)
                if table is ChangeRow.__table__:
                    rows = rows.where(table.c.seq != marker)
                session.execute(rows)
            if self.search_index is not None:  # keyed by a hash of the namespace
                self.search_index.namespace_deleted(session.connection(), namespace)
            for entity, ids in gone.items():
                self._announce(session, namespace, entity, ids, "delete")
        return before or NamespaceUsage(namespace, 0, 0, 0, 0)


def _namespaced_tables() -> list[Table]:
    """Every table with a ``namespace`` column, dependants before what they reference."""
    return [t for t in reversed(Base.metadata.sorted_tables) if "namespace" in t.c]
