"""Ranking of stored episodes and patterns for a new task (seam used by the facade)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from memory_core.config import MemoryConfig
from memory_core.embeddings import Embedder
from memory_core.models import (
    Episode,
    OutcomeKind,
    RetrievedEpisode,
    RetrievedPattern,
    TaskContext,
    TaskType,
)
from memory_core.storage import EpisodeQuery, EpisodeStore

__all__ = ["EpisodeFilters", "RetrievalEngine"]


@dataclass(frozen=True, slots=True)
class EpisodeFilters:
    """Optional hard filters for episode search (all combine with AND)."""

    domain: str | None = None
    task_type: TaskType | None = None
    outcome_kind: OutcomeKind | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_reward: float | None = None


class RetrievalEngine:
    """Ranks the completed episodes and the patterns of one namespace."""

    def __init__(
        self,
        config: MemoryConfig,
        store: EpisodeStore,
        namespace: str,
        *,
        embedder: Embedder | None = None,
    ) -> None:
        self._embedder = embedder
        self._config = config
        self._store = store
        self._namespace = namespace

    def search_episodes(
        self,
        task_description: str,
        context: TaskContext,
        limit: int,
        filters: EpisodeFilters,
        *,
        include_below_floor: bool = False,
    ) -> list[RetrievedEpisode]:
        """Rank completed episodes for a task (best first)."""
        query = EpisodeQuery(
            domain=filters.domain or context.domain,
            task_type=filters.task_type,
            outcome_kind=filters.outcome_kind,
            since=filters.since,
            until=filters.until,
            min_reward=filters.min_reward,
            completed=True,
            limit=limit,
        )
        episodes = self._store.list_episodes(self._namespace, query)
        return [RetrievedEpisode(episode=e, score=0.0) for e in episodes]

    def search_patterns(
        self, context: TaskContext, task_description: str | None, limit: int
    ) -> list[RetrievedPattern]:
        """Rank patterns for a context (best first)."""
        patterns = self._store.list_patterns(self._namespace, domain=context.domain, limit=limit)
        return [RetrievedPattern(pattern=p, score=p.success_rate) for p in patterns]

    def episode_completed(self, episode: Episode) -> None:
        """Make a newly completed episode retrievable."""

    def episode_deleted(self, episode_id: UUID) -> None:
        """Forget a deleted episode."""

    def close(self) -> None:
        """Release index resources."""
