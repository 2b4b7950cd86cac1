"""Effectiveness bookkeeping: how patterns fare once they are handed to agents.

The score itself is `PatternEffectiveness.effectiveness_score` (reference formula:
``app_success_rate * (1 + clamp(ln(applied), 0, 3) / 3) * max(0, 1 + avg_reward_delta)``,
0.5 for a pattern never applied). This module updates the counters and adds the
reference's usage score.
"""

from __future__ import annotations

import math
from datetime import datetime

from memory_core.models import Pattern, PatternEffectiveness, utcnow

__all__ = ["record_application", "record_retrieval", "usage_score"]

_HALF_LIFE_DAYS = 30.0


def record_application(
    pattern: Pattern, helped: bool, reward_delta: float | None, *, when: datetime | None = None
) -> Pattern:
    """Return ``pattern`` with one more application recorded.

    ``reward_delta`` (how much better the episode did than usual) enters the running mean;
    an application recorded without one counts as 0 (neutral).
    """
    eff = pattern.effectiveness
    applied = eff.times_applied + 1
    delta = 0.0 if reward_delta is None else reward_delta
    updated = eff.model_copy(
        update={
            "times_applied": applied,
            "success_when_applied": eff.success_when_applied + int(helped),
            "failure_when_applied": eff.failure_when_applied + int(not helped),
            "avg_reward_delta": eff.avg_reward_delta + (delta - eff.avg_reward_delta) / applied,
            "last_used": when or utcnow(),
        }
    )
    return pattern.model_copy(update={"effectiveness": updated})


def record_retrieval(pattern: Pattern, count: int = 1) -> Pattern:
    """Return ``pattern`` with ``count`` more retrievals recorded."""
    eff = pattern.effectiveness
    updated = eff.model_copy(update={"times_retrieved": eff.times_retrieved + count})
    return pattern.model_copy(update={"effectiveness": updated})


def usage_score(effectiveness: PatternEffectiveness, *, now: datetime | None = None) -> float:
    """``0.4 * success + 0.3 * applied/retrieved + 0.2 * recency + 0.1 * min(applied, 20)/20``.

    Success is the application success rate (0.5 if never applied); recency halves every 30
    days since last use (0 if never used, capped at 10 half-lives).
    """
    recency = 0.0
    if effectiveness.last_used is not None:
        days = max(0.0, ((now or utcnow()) - effectiveness.last_used).total_seconds() / 86_400)
        recency = math.pow(0.5, min(days / _HALF_LIFE_DAYS, 10.0))
    usage = min(effectiveness.usage_rate, 1.0)
    return (
        0.4 * effectiveness.application_success_rate
        + 0.3 * usage
        + 0.2 * recency
        + 0.1 * min(effectiveness.times_applied, 20) / 20
    )
