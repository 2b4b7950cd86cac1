"""Hard filters for episode search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from memory_core.models import OutcomeKind, TaskType

__all__ = ["EpisodeFilters"]


@dataclass(frozen=True, slots=True)
class EpisodeFilters:
    """Optional hard filters for episode search (all combine with AND).

    Attributes:
        domain: Only episodes of exactly this domain.
        task_type: Only episodes of this task type.
        outcome_kind: Only episodes that ended this way.
        since: Only episodes started at or after this time.
        until: Only episodes started before this time.
        min_reward: Only episodes whose reward total is at least this.
    """

    domain: str | None = None
    task_type: TaskType | None = None
    outcome_kind: OutcomeKind | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_reward: float | None = None
