"""Results returned by the memory: ranked episodes and patterns, and statistics."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from memory_core.models.episode import Episode
from memory_core.models.patterns import Pattern

__all__ = ["LearningStats", "MemoryStats", "RetrievedEpisode", "RetrievedPattern"]


class RetrievedEpisode(BaseModel):
    """A past episode ranked for a new task, with why it ranked.

    ``breakdown`` maps each weighted component (e.g. ``"lexical"``, ``"context"``,
    ``"reward"``, ``"recency"``) to its contribution; the contributions sum to ``score``.
    ``below_floor`` is True for results returned although their task relevance is below
    the configured minimum (only when explicitly asked for).
    """

    model_config = ConfigDict(extra="forbid")

    episode: Episode
    score: float
    breakdown: dict[str, float] = Field(default_factory=dict)
    relevance: float = 0.0
    below_floor: bool = False


class RetrievedPattern(BaseModel):
    """A pattern ranked for a context, with its score breakdown (contributions sum to score)."""

    model_config = ConfigDict(extra="forbid")

    pattern: Pattern
    score: float
    breakdown: dict[str, float] = Field(default_factory=dict)


class LearningStats(BaseModel):
    """Counters of the learning queue."""

    model_config = ConfigDict(extra="forbid")

    queued: int = 0
    in_flight: int = 0
    processed: int = 0
    failed: int = 0
    rejected: int = 0
    inline: int = 0


class MemoryStats(BaseModel):
    """A snapshot of one memory (one namespace)."""

    model_config = ConfigDict(extra="forbid")

    namespace: str
    database_url: str
    episodes_total: int
    episodes_completed: int
    episodes_in_flight: int
    patterns_total: int
    heuristics_total: int
    pending_writes: int
    episode_cache_hits: int
    episode_cache_misses: int
    pattern_cache_hits: int
    pattern_cache_misses: int
    learning: LearningStats = Field(default_factory=LearningStats)
