"""Aggregate and paging queries for browsing a memory (the web UI), in SQL.

These answer "how many, per what" without loading episodes: every method runs one
``GROUP BY``, ``COUNT`` or narrow-column query, so its cost does not grow with the size of
the stored JSON. `SQLAlchemyEpisodeStore` provides them; a third-party store that wants the
web UI implements `BrowsableStore` too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar, runtime_checkable
from uuid import UUID

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from memory_core.storage._schema import (
    EpisodeRow,
    HeuristicRow,
    PatternEpisodeRow,
    PatternRow,
)
from memory_core.storage.base import EpisodeQuery

__all__ = [
    "BrowsableStore",
    "BrowseQueries",
    "DailyActivity",
    "PatternRank",
    "filter_episodes",
    "micros",
]

if TYPE_CHECKING:
    AnySelect: TypeAlias = Select[*tuple[Any, ...]]
_S = TypeVar("_S", bound="AnySelect")

_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DailyActivity:
    """Episodes started on one UTC day with one outcome kind (None: still in flight)."""

    day: date
    outcome_kind: str | None
    count: int
    reward_sum: float
    rewarded: int
    """How many of them have a reward (``reward_sum`` is over these)."""


@dataclass(frozen=True, slots=True)
class PatternRank:
    """The columns a pattern is ranked by, without its JSON."""

    pattern_id: UUID
    success_rate: float
    occurrence_count: int


def micros(value: datetime) -> int:
    """Microseconds since the Unix epoch (how the tables store times)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def filter_episodes(stmt: _S, query: EpisodeQuery) -> _S:
    """Add the filters of ``query`` (not its order, limit or offset) to an episode select."""
    if query.domain is not None:
        stmt = stmt.where(EpisodeRow.domain == query.domain)
    if query.task_type is not None:
        stmt = stmt.where(EpisodeRow.task_type == query.task_type.value)
    if query.outcome_kind is not None:
        stmt = stmt.where(EpisodeRow.outcome_kind == query.outcome_kind)
    if query.completed is True:
        stmt = stmt.where(EpisodeRow.end_us.is_not(None))
    elif query.completed is False:
        stmt = stmt.where(EpisodeRow.end_us.is_(None))
    if query.since is not None:
        stmt = stmt.where(EpisodeRow.start_us >= micros(query.since))
    if query.until is not None:
        stmt = stmt.where(EpisodeRow.start_us < micros(query.until))
    if query.min_reward is not None:
        stmt = stmt.where(EpisodeRow.reward_total >= query.min_reward)
    return stmt


@runtime_checkable
class BrowsableStore(Protocol):
    """What the web UI needs from a store beyond `EpisodeStore`: counts and aggregates."""

    def list_namespaces(self) -> list[tuple[str, int]]:
        """Every namespace holding episodes or patterns, with its episode count, by name."""
        ...

    def count_matching_episodes(self, namespace: str, query: EpisodeQuery) -> int:
        """How many episodes match the filters of ``query`` (its limit and offset ignored)."""
        ...

    def episode_activity(self, namespace: str) -> list[DailyActivity]:
        """Episode counts and reward sums per start day (UTC) and outcome kind, by day."""
        ...

    def recent_outcomes(self, namespace: str, limit: int) -> list[bool]:
        """Whether each of the last ``limit`` completed episodes succeeded, oldest first."""
        ...

    def episode_domains(self, namespace: str) -> list[tuple[str, int]]:
        """Every domain with its episode count, most episodes first."""
        ...

    def pattern_ranks(self, namespace: str) -> list[PatternRank]:
        """Success rate and occurrence count of every pattern (no JSON parsed)."""
        ...

    def count_heuristics(self, namespace: str) -> int:
        """How many heuristics the namespace holds."""
        ...

    def count_pattern_links(self, namespace: str, pattern_id: UUID) -> int:
        """How many episodes are linked to a pattern as its evidence."""
        ...


class BrowseQueries:
    """`BrowsableStore` for the SQLAlchemy store (mixed into `SQLAlchemyEpisodeStore`)."""

    def _session(self, *, write: bool = False) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by the store

    def _rows(self, stmt: AnySelect) -> Iterator[Any]:
        with self._session() as session:
            yield from session.execute(stmt).all()

    def list_namespaces(self) -> list[tuple[str, int]]:
        """Every namespace holding episodes or patterns, with its episode count, by name."""
        episodes = select(EpisodeRow.namespace.label("ns"), func.count().label("n")).group_by(
            EpisodeRow.namespace
        )
        patterns = select(PatternRow.namespace).distinct()
        counts: dict[str, int] = {}
        with self._session() as session:
            for namespace, count in session.execute(episodes):
                counts[namespace] = int(count)
            for (namespace,) in session.execute(patterns):
                counts.setdefault(namespace, 0)
        return sorted(counts.items())

    def count_matching_episodes(self, namespace: str, query: EpisodeQuery) -> int:
        """How many episodes match the filters of ``query`` (its limit and offset ignored)."""
        stmt = select(func.count()).select_from(EpisodeRow).where(EpisodeRow.namespace == namespace)
        with self._session() as session:
            return int(session.scalar(filter_episodes(stmt, query)) or 0)

    def episode_activity(self, namespace: str) -> list[DailyActivity]:
        """Episode counts and reward sums per start day (UTC) and outcome kind, by day."""
        day = (EpisodeRow.start_us // _DAY_US).label("day")
        stmt = (
            select(
                day,
                EpisodeRow.outcome_kind,
                func.count(),
                func.coalesce(func.sum(EpisodeRow.reward_total), 0.0),
                func.count(EpisodeRow.reward_total),
            )
            .where(EpisodeRow.namespace == namespace)
            .group_by(day, EpisodeRow.outcome_kind)
            .order_by(day)
        )
        return [
            DailyActivity(
                day=date(1970, 1, 1) + timedelta(days=int(index)),
                outcome_kind=kind,
                count=int(count),
                reward_sum=float(total),
                rewarded=int(rewarded),
            )
            for index, kind, count, total, rewarded in self._rows(stmt)
        ]

    def recent_outcomes(self, namespace: str, limit: int) -> list[bool]:
        """Whether each of the last ``limit`` completed episodes succeeded, oldest first.

        "Last" is by start time, which the namespace's start-time index serves directly.
        """
        stmt = (
            select(EpisodeRow.outcome_kind)
            .where(EpisodeRow.namespace == namespace, EpisodeRow.outcome_kind.is_not(None))
            .order_by(EpisodeRow.start_us.desc(), EpisodeRow.episode_id.desc())
            .limit(limit)
        )
        with self._session() as session:
            kinds = list(session.scalars(stmt))
        kinds.reverse()
        return [kind == "success" for kind in kinds]

    def episode_domains(self, namespace: str) -> list[tuple[str, int]]:
        """Every domain with its episode count, most episodes first."""
        count = func.count().label("n")
        stmt = (
            select(EpisodeRow.domain, count)
            .where(EpisodeRow.namespace == namespace)
            .group_by(EpisodeRow.domain)
            .order_by(count.desc(), EpisodeRow.domain)
        )
        return [(domain, int(n)) for domain, n in self._rows(stmt)]

    def pattern_ranks(self, namespace: str) -> list[PatternRank]:
        """Success rate and occurrence count of every pattern (no JSON parsed)."""
        stmt = select(
            PatternRow.pattern_id, PatternRow.success_rate, PatternRow.occurrence_count
        ).where(PatternRow.namespace == namespace)
        return [PatternRank(UUID(i), float(rate), int(n)) for i, rate, n in self._rows(stmt)]

    def count_heuristics(self, namespace: str) -> int:
        """How many heuristics the namespace holds."""
        stmt = (
            select(func.count())
            .select_from(HeuristicRow)
            .where(HeuristicRow.namespace == namespace)
        )
        with self._session() as session:
            return int(session.scalar(stmt) or 0)

    def count_pattern_links(self, namespace: str, pattern_id: UUID) -> int:
        """How many episodes are linked to a pattern as its evidence."""
        stmt = (
            select(func.count())
            .select_from(PatternEpisodeRow)
            .where(
                PatternEpisodeRow.namespace == namespace,
                PatternEpisodeRow.pattern_id == str(pattern_id),
            )
        )
        with self._session() as session:
            return int(session.scalar(stmt) or 0)
