"""Reusable knowledge mined from episodes: the four pattern kinds and heuristics."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from memory_core.models.context import TaskContext
from memory_core.models.episode import new_id, utcnow

__all__ = [
    "ContextPattern",
    "DecisionPoint",
    "ErrorRecovery",
    "Heuristic",
    "OutcomeStats",
    "Pattern",
    "PatternEffectiveness",
    "PatternKind",
    "ToolSequence",
]

PatternKind = Literal["tool_sequence", "decision_point", "error_recovery", "context_pattern"]

#: Upper bound on evidence episode ids kept per pattern (the newest are kept).
MAX_EVIDENCE = 50


class PatternEffectiveness(BaseModel):
    """How a pattern fared once it was handed to agents.

    A pattern that was never applied scores 0.5 (neutral).
    """

    model_config = ConfigDict(extra="forbid")

    times_retrieved: int = Field(default=0, ge=0)
    times_applied: int = Field(default=0, ge=0)
    success_when_applied: int = Field(default=0, ge=0)
    failure_when_applied: int = Field(default=0, ge=0)
    avg_reward_delta: float = 0.0
    last_used: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def application_success_rate(self) -> float:
        """Successes / applications, or 0.5 if never applied."""
        if self.times_applied == 0:
            return 0.5
        return self.success_when_applied / self.times_applied

    @property
    def usage_rate(self) -> float:
        """Applications / retrievals (0.0 if never retrieved)."""
        if self.times_retrieved == 0:
            return 0.0
        return self.times_applied / self.times_retrieved

    @property
    def effectiveness_score(self) -> float:
        """``app_rate * (1 + clamp(ln(applied), 0, 3) / 3) * max(0, 1 + avg_reward_delta)``."""
        experience = 0.0
        if self.times_applied > 0:
            experience = min(max(math.log(self.times_applied), 0.0), 3.0) / 3.0
        return (
            self.application_success_rate
            * (1.0 + experience)
            * max(0.0, 1.0 + self.avg_reward_delta)
        )


class OutcomeStats(BaseModel):
    """Success / failure counts behind a decision point."""

    model_config = ConfigDict(extra="forbid")

    success_count: int = Field(default=0, ge=0)
    failure_count: int = Field(default=0, ge=0)
    total_count: int = Field(default=0, ge=0)
    avg_duration_secs: float = Field(default=0.0, ge=0)

    @property
    def success_rate(self) -> float:
        """Successes / total (0.0 when empty)."""
        return self.success_count / self.total_count if self.total_count else 0.0


class _PatternBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern_id: UUID = Field(default_factory=new_id)
    context: TaskContext | None = None
    evidence: list[UUID] = Field(default_factory=list)
    occurrence_count: int = Field(default=1, ge=1)
    effectiveness: PatternEffectiveness = Field(default_factory=PatternEffectiveness)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def domain(self) -> str | None:
        """The domain of the pattern's context, if it has one."""
        return self.context.domain if self.context is not None else None

    @property
    def sample_size(self) -> int:
        """How many observations back the pattern."""
        return self.occurrence_count

    @property
    def confidence(self) -> float:
        """``success_rate * sqrt(sample_size)`` (0 without samples)."""
        size = self.sample_size
        rate: float = getattr(self, "success_rate", 0.0)
        return rate * math.sqrt(size) if size > 0 else 0.0


class ToolSequence(_PatternBase):
    """Tools used in this order, with how often the sequence succeeded and how long it took."""

    kind: Literal["tool_sequence"] = "tool_sequence"
    tools: list[str] = Field(min_length=1)
    success_rate: float = Field(ge=0.0, le=1.0)
    avg_latency_ms: float = Field(default=0.0, ge=0.0)


class DecisionPoint(_PatternBase):
    """When ``condition`` held, the agent did ``action``, with these results."""

    kind: Literal["decision_point"] = "decision_point"
    condition: str = Field(min_length=1)
    action: str = Field(min_length=1)
    outcome_stats: OutcomeStats = Field(default_factory=OutcomeStats)

    @property
    def success_rate(self) -> float:
        """Success rate from the outcome statistics."""
        return self.outcome_stats.success_rate

    @property
    def sample_size(self) -> int:
        """Number of recorded decisions."""
        return self.outcome_stats.total_count


class ErrorRecovery(_PatternBase):
    """An error signature and the steps that recovered from it."""

    kind: Literal["error_recovery"] = "error_recovery"
    error_type: str = Field(min_length=1)
    recovery_steps: list[str] = Field(min_length=1)
    success_rate: float = Field(ge=0.0, le=1.0)


class ContextPattern(_PatternBase):
    """A set of context features and the approach that worked for them."""

    kind: Literal["context_pattern"] = "context_pattern"
    context_features: list[str] = Field(min_length=1)
    recommended_approach: str = Field(min_length=1)
    success_rate: float = Field(ge=0.0, le=1.0)

    @property
    def sample_size(self) -> int:
        """Number of episodes backing the pattern."""
        return max(self.occurrence_count, len(self.evidence))


Pattern = Annotated[
    ToolSequence | DecisionPoint | ErrorRecovery | ContextPattern,
    Field(discriminator="kind"),
]
"""Any of the four pattern kinds; ``pattern.kind`` tells which."""


class Heuristic(BaseModel):
    """A condition -> action rule learned across episodes, with its evidence."""

    model_config = ConfigDict(extra="forbid")

    heuristic_id: UUID = Field(default_factory=new_id)
    condition: str = Field(min_length=1)
    action: str = Field(min_length=1)
    context: TaskContext | None = None
    evidence: list[UUID] = Field(default_factory=list)
    success_count: int = Field(default=0, ge=0)
    sample_size: int = Field(default=0, ge=0)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def success_rate(self) -> float:
        """Successes / samples (0.0 when empty)."""
        return self.success_count / self.sample_size if self.sample_size else 0.0

    @property
    def confidence(self) -> float:
        """``success_rate * sqrt(sample_size)``."""
        return self.success_rate * math.sqrt(self.sample_size)
