"""Results returned by the memory: ranked episodes and patterns, and statistics."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from memory_core.models.episode import Episode
from memory_core.models.patterns import Pattern

__all__ = [
    "LearningStats",
    "MemoryStats",
    "PlanStep",
    "RecommendedPlan",
    "RelearnReport",
    "RetrievedEpisode",
    "RetrievedPattern",
]


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


class PlanStep(BaseModel):
    """One step of a recommended plan: the tool and what it was used for."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    action: str


class RecommendedPlan(BaseModel):
    """The lesson memory has for a task: which tools solved tasks like it, in order.

    ``tools`` is the tool sequence of the successful steps of the best evidence episode;
    ``steps`` adds what each tool was used for. ``evidence`` lists the episodes that solved a
    similar task this way (best first), then failed ones whose successful steps it starts
    with; ``support`` counts them. ``success_rate`` is the share of similar episodes that
    followed these tools and succeeded: 0 for a partial plan, the steps that worked in failed
    attempts at tasks like this one when none has succeeded yet (follow it, then explore).
    ``confidence`` (0-1) says how clearly the evidence favours this plan over the
    alternatives. ``relevance`` is the task relevance of the best evidence episode.
    """

    model_config = ConfigDict(extra="forbid")

    tools: list[str]
    steps: list[PlanStep] = Field(default_factory=list)
    evidence: list[UUID] = Field(default_factory=list)
    support: int = Field(default=0, ge=0)
    success_rate: float = Field(default=0.0, ge=0, le=1)
    confidence: float = Field(default=0.0, ge=0, le=1)
    relevance: float = Field(default=0.0, ge=0)
    task_description: str = ""


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
    episodes_unlearned: int = Field(
        default=0,
        ge=0,
        description="completed episodes whose learning has not committed yet (queued here, "
        "or waiting for a learner process)",
    )
    patterns_total: int
    heuristics_total: int
    pending_writes: int
    episode_cache_hits: int
    episode_cache_misses: int
    pattern_cache_hits: int
    pattern_cache_misses: int
    learning: LearningStats = Field(default_factory=LearningStats)


class RelearnReport(BaseModel):
    """What a `relearn` run did in one namespace.

    ``created`` / ``updated`` compare the namespace's patterns (heuristics) before and after
    the run: a pattern is updated when its ``occurrence_count`` changed (a heuristic: its
    ``sample_size``). With ``rebuild`` everything stored afterwards counts as created, and
    ``*_deleted`` says how much was deleted first. Changes made by other writers during the
    run (e.g. episodes completing meanwhile) are included.
    """

    model_config = ConfigDict(extra="forbid")

    namespace: str
    rebuild: bool = False
    episodes_total: int = Field(default=0, ge=0, description="episodes selected")
    episodes_learned: int = Field(default=0, ge=0, description="episodes learned again")
    episodes_failed: int = Field(default=0, ge=0, description="episodes whose learning failed")
    patterns_before: int = Field(default=0, ge=0)
    patterns_after: int = Field(default=0, ge=0)
    patterns_created: int = Field(default=0, ge=0)
    patterns_updated: int = Field(default=0, ge=0)
    patterns_deleted: int = Field(default=0, ge=0)
    heuristics_before: int = Field(default=0, ge=0)
    heuristics_after: int = Field(default=0, ge=0)
    heuristics_created: int = Field(default=0, ge=0)
    heuristics_updated: int = Field(default=0, ge=0)
    heuristics_deleted: int = Field(default=0, ge=0)
    seconds: float = Field(default=0.0, ge=0)
