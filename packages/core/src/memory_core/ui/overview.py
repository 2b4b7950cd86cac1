"""What the overview page shows, from SQL aggregates (never a read of every episode).

Counts, outcome mix, mean reward and the per-period timeline come from one ``GROUP BY``
over (start day, outcome); the learning curve from the outcome column of the latest
`CURVE_LIMIT` completed episodes; the top patterns from the rank columns of the patterns,
of which only the best are parsed. The charts are the HTML report's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from memory_core.memory import SyncSelfLearningMemory
from memory_core.models import Episode, Pattern
from memory_core.report.charts import learning_curve_chart, timeline_chart
from memory_core.report.data import Bucket, buckets_from_days, rolling_rate
from memory_core.storage.browse import BrowsableStore

__all__ = ["CURVE_LIMIT", "RECENT", "TOP_PATTERNS", "Overview", "build_overview"]

CURVE_LIMIT = 10_000
"""The learning curve covers at most this many of the latest completed episodes."""

RECENT = 10
TOP_PATTERNS = 10


@dataclass(slots=True)
class Overview:
    """Counts, charts, recent episodes and top patterns of one namespace."""

    namespace: str
    episodes_total: int = 0
    in_flight: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)
    reward_sum: float = 0.0
    rewarded: int = 0
    patterns_total: int = 0
    heuristics_total: int = 0
    unit: str = "day"
    buckets: list[Bucket] = field(default_factory=list)
    curve: list[bool] = field(default_factory=list)
    recent: list[Episode] = field(default_factory=list)
    top_patterns: list[Pattern] = field(default_factory=list)

    @property
    def completed(self) -> int:
        """Completed episodes (any outcome)."""
        return sum(self.by_outcome.values())

    @property
    def success_rate(self) -> float | None:
        """Share of completed episodes that succeeded (None before the first)."""
        done = self.completed
        return self.by_outcome.get("success", 0) / done if done else None

    @property
    def mean_reward(self) -> float | None:
        """Mean reward of the scored episodes (None before the first)."""
        return self.reward_sum / self.rewarded if self.rewarded else None

    @property
    def curve_window(self) -> int:
        """Episodes per point of the rolling success rate."""
        return max(5, min(50, len(self.curve) // 10))

    def timeline_svg(self) -> str:
        """Completed episodes and success rate per period (the report's chart)."""
        return timeline_chart(self.buckets, self.unit)

    def learning_curve_svg(self) -> str:
        """The rolling success rate over the latest completed episodes (the report's chart)."""
        window = self.curve_window
        overall = rolling_rate(self.curve, max(1, len(self.curve)))
        return learning_curve_chart(rolling_rate(self.curve, window), overall, window)


def _top_patterns(
    store: BrowsableStore, memory: SyncSelfLearningMemory
) -> tuple[int, list[Pattern]]:
    ranks = store.pattern_ranks(memory.namespace)
    # The rank columns approximate the confidence (success rate x sqrt(support)); parse a
    # few more than shown and order those by their exact confidence.
    ranks.sort(
        key=lambda r: (-r.success_rate * math.sqrt(max(r.occurrence_count, 0)), str(r.pattern_id))
    )
    candidates = [r.pattern_id for r in ranks[: TOP_PATTERNS * 3]]
    found = memory.engine.store.get_patterns(memory.namespace, candidates) if candidates else []
    found.sort(key=lambda p: (-p.confidence, -p.sample_size, str(p.pattern_id)))
    return len(ranks), found[:TOP_PATTERNS]


def build_overview(memory: SyncSelfLearningMemory, store: BrowsableStore) -> Overview:
    """Compute the overview of the memory's namespace with aggregate queries."""
    namespace = memory.namespace
    data = Overview(namespace=namespace)
    per_day: dict[date, tuple[int, int]] = {}
    for row in store.episode_activity(namespace):
        data.episodes_total += row.count
        data.reward_sum += row.reward_sum
        data.rewarded += row.rewarded
        if row.outcome_kind is None:
            data.in_flight += row.count
            continue
        data.by_outcome[row.outcome_kind] = data.by_outcome.get(row.outcome_kind, 0) + row.count
        total, successes = per_day.get(row.day, (0, 0))
        ok = row.count if row.outcome_kind == "success" else 0
        per_day[row.day] = (total + row.count, successes + ok)
    data.unit, data.buckets = buckets_from_days(per_day)
    data.curve = store.recent_outcomes(namespace, CURVE_LIMIT)
    data.recent = memory.list_episodes(limit=RECENT)
    data.patterns_total, data.top_patterns = _top_patterns(store, memory)
    data.heuristics_total = store.count_heuristics(namespace)
    return data
