"""The learning step run for every completed episode (seam used by the memory facade)."""

from __future__ import annotations

from uuid import UUID

from memory_core.config import MemoryConfig
from memory_core.errors import PatternNotFoundError
from memory_core.models import Episode, LearningStats, Pattern
from memory_core.storage import EpisodeStore

__all__ = ["LearningService"]


class LearningService:
    """Scores, reflects on and learns from completed episodes of one namespace.

    The facade calls, in order: :meth:`admit` (may refuse before anything is stored),
    :meth:`assess` (reward and reflection, before storing), then :meth:`submit` once the
    episode is durable (pattern extraction, possibly in the background).
    """

    def __init__(self, config: MemoryConfig, store: EpisodeStore, namespace: str) -> None:
        self._config = config
        self._store = store
        self._namespace = namespace
        self._stats = LearningStats()

    def admit(self) -> None:
        """Raise `LearningQueueFullError` if a new episode cannot be accepted now."""

    def assess(self, episode: Episode) -> Episode:
        """Return the episode with its reward and reflection filled in."""
        return episode

    def submit(self, episode: Episode) -> None:
        """Learn patterns from a stored, completed episode."""
        self._store.mark_learned(self._namespace, episode.episode_id, [])
        self._stats.processed += 1

    def record_application(
        self, pattern_id: UUID, episode_id: UUID | None, helped: bool, reward_delta: float | None
    ) -> Pattern:
        """Record that a pattern was applied and whether it helped."""
        found = self._store.get_pattern(self._namespace, pattern_id)
        if found is None:
            raise PatternNotFoundError(pattern_id, self._namespace)
        return found

    def resume(self) -> None:
        """Re-queue completed episodes whose extraction did not run (after a crash)."""

    def wait(self, timeout: float | None = None) -> bool:
        """Block until all queued learning work is done; False on timeout."""
        return True

    def stats(self) -> LearningStats:
        """A snapshot of the queue counters."""
        return self._stats.model_copy()

    def close(self) -> None:
        """Finish or persist pending work and stop workers."""
