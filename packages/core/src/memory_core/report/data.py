"""What the HTML report shows, computed from one namespace of a memory."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from memory_core.memory import SyncSelfLearningMemory
from memory_core.models import Episode, Heuristic, Pattern
from memory_core.portability._gc import paused_gc
from memory_core.storage import EpisodeStore

__all__ = [
    "Bucket",
    "Distribution",
    "EpisodeFacts",
    "ReportData",
    "buckets_from_days",
    "collect_report_data",
    "distribution",
    "rolling_rate",
    "time_buckets",
]

TOP_PATTERNS = 10
RECENT_FAILURES = 8


@dataclass(frozen=True, slots=True)
class EpisodeFacts:
    """The few fields of an episode the charts need."""

    episode_id: UUID
    start_time: datetime
    end_time: datetime | None
    domain: str
    task_type: str
    outcome: str | None
    reward: float | None

    @property
    def succeeded(self) -> bool:
        """True when the outcome is a success."""
        return self.outcome == "success"


@dataclass(frozen=True, slots=True)
class Bucket:
    """Episodes started in one period (day, week or month)."""

    label: str
    start: date
    total: int
    successes: int

    @property
    def success_rate(self) -> float | None:
        """Successes / completed episodes of the period (None when there were none)."""
        return self.successes / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Distribution:
    """A five-number summary (plus mean and count) of a group's rewards."""

    name: str
    count: int
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float
    mean: float


@dataclass(slots=True)
class ReportData:
    """Everything the report renders."""

    namespace: str
    database: str
    generated_at: datetime
    facts: list[EpisodeFacts] = field(default_factory=list)
    in_flight: int = 0
    patterns_total: int = 0
    top_patterns: list[Pattern] = field(default_factory=list)
    pattern_evidence: dict[UUID, list[UUID]] = field(default_factory=dict)
    heuristics: list[Heuristic] = field(default_factory=list)
    recent_failures: list[Episode] = field(default_factory=list)
    episodes: dict[UUID, Episode] = field(default_factory=dict)
    """Full episodes the page links to (pattern evidence and failures), by id."""

    @property
    def completed(self) -> list[EpisodeFacts]:
        """Completed episodes, in completion order."""
        done = [f for f in self.facts if f.outcome is not None]
        return sorted(done, key=lambda f: (f.end_time or f.start_time, str(f.episode_id)))

    @property
    def success_rate(self) -> float | None:
        """Share of completed episodes that succeeded."""
        done = self.completed
        return sum(f.succeeded for f in done) / len(done) if done else None

    @property
    def mean_reward(self) -> float | None:
        """Mean reward of the scored episodes."""
        rewards = [f.reward for f in self.facts if f.reward is not None]
        return sum(rewards) / len(rewards) if rewards else None


def _percentile(values: Sequence[float], q: float) -> float:
    position = (len(values) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


def distribution(name: str, values: Sequence[float]) -> Distribution:
    """Summarise ``values`` (at least one) as quartiles, extremes and mean."""
    ordered = sorted(values)
    return Distribution(
        name=name,
        count=len(ordered),
        minimum=ordered[0],
        q1=_percentile(ordered, 0.25),
        median=_percentile(ordered, 0.5),
        q3=_percentile(ordered, 0.75),
        maximum=ordered[-1],
        mean=sum(ordered) / len(ordered),
    )


def _period_start(day: date, unit: str) -> date:
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_period(day: date, unit: str) -> date:
    if unit == "day":
        return day + timedelta(days=1)
    if unit == "week":
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def time_buckets(facts: Sequence[EpisodeFacts]) -> tuple[str, list[Bucket]]:
    """Completed episodes per day, week or month (picked from the span), gaps included."""
    per_day: dict[date, tuple[int, int]] = {}
    for fact in facts:
        if fact.outcome is not None:
            total, successes = per_day.get(fact.start_time.date(), (0, 0))
            per_day[fact.start_time.date()] = (total + 1, successes + fact.succeeded)
    return buckets_from_days(per_day)


def buckets_from_days(per_day: Mapping[date, tuple[int, int]]) -> tuple[str, list[Bucket]]:
    """Group (completed, succeeded) counts per start day into days, weeks or months.

    The unit is picked from the span (up to 62 days: days; up to two years: weeks; else
    months), and periods without episodes are included, so the time axis is even.
    """
    days = [d for d, (total, _) in per_day.items() if total]
    if not days:
        return "day", []
    first, last = min(days), max(days)
    span = (last - first).days
    unit = "day" if span <= 62 else "week" if span <= 7 * 104 else "month"
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for day, (total, successes) in per_day.items():
        slot = counts[_period_start(day, unit)]
        slot[0] += total
        slot[1] += successes
    buckets: list[Bucket] = []
    cursor = _period_start(first, unit)
    label = {"day": "%b %d", "week": "%b %d", "month": "%b %Y"}[unit]
    while cursor <= last:
        total, successes = counts.get(cursor, [0, 0])
        buckets.append(Bucket(cursor.strftime(label), cursor, total, successes))
        cursor = _next_period(cursor, unit)
    return unit, buckets


def rolling_rate(outcomes: Sequence[bool], window: int) -> list[float]:
    """The success rate over the last ``window`` outcomes, at every position."""
    rates: list[float] = []
    running = 0
    for index, ok in enumerate(outcomes):
        running += ok
        if index >= window:
            running -= outcomes[index - window]
        rates.append(running / min(index + 1, window))
    return rates


def _facts(episode: Episode) -> EpisodeFacts:
    return EpisodeFacts(
        episode_id=episode.episode_id,
        start_time=episode.start_time,
        end_time=episode.end_time,
        domain=episode.context.domain,
        task_type=episode.task_type.value,
        outcome=episode.outcome.kind if episode.outcome else None,
        reward=episode.reward.total if episode.reward else None,
    )


def _read_episodes(
    store: EpisodeStore,
    namespace: str,
    batch_size: int,
    data: ReportData,
    failures: list[Episode],
) -> None:
    """Add every episode's facts to ``data`` and keep the most recent failures."""
    cursor = None
    while page := store.export_episodes(namespace, after=cursor, limit=batch_size):
        last = page[-1][0]
        cursor = (last.start_time, last.episode_id)
        for episode, _ in page:
            data.facts.append(_facts(episode))
            if episode.outcome is None:
                data.in_flight += 1
            elif episode.outcome.kind == "failure":
                failures.append(episode)
        failures.sort(key=lambda e: e.end_time or e.start_time, reverse=True)
        del failures[RECENT_FAILURES:]


def collect_report_data(
    memory: SyncSelfLearningMemory, *, batch_size: int = 1000, now: datetime | None = None
) -> ReportData:
    """Read what the report needs from the memory's namespace."""
    memory.flush()
    store, namespace = memory.engine.store, memory.namespace
    data = ReportData(
        namespace=namespace,
        database=memory.stats().database_url,
        generated_at=now or datetime.now(UTC),
    )
    failures: list[Episode] = []
    with paused_gc():
        _read_episodes(store, namespace, batch_size, data, failures)
    data.recent_failures = failures

    patterns = store.list_patterns(namespace)
    data.patterns_total = len(patterns)
    data.top_patterns = sorted(
        patterns, key=lambda p: (-p.confidence, -p.sample_size, str(p.pattern_id))
    )[:TOP_PATTERNS]
    links: dict[UUID, list[UUID]] = defaultdict(list)
    for pattern_id, episode_id in store.pattern_links(namespace):
        links[pattern_id].append(episode_id)
    for pattern in data.top_patterns:
        data.pattern_evidence[pattern.pattern_id] = list(
            dict.fromkeys([*pattern.evidence, *links.get(pattern.pattern_id, [])])
        )
    data.heuristics = sorted(
        store.list_heuristics(namespace), key=lambda h: (-h.confidence, str(h.heuristic_id))
    )[:TOP_PATTERNS]
    wanted = {i for ids in data.pattern_evidence.values() for i in ids}
    found = store.get_episodes(namespace, sorted(wanted, key=str)) if wanted else []
    data.episodes = {e.episode_id: e for e in [*found, *failures]}
    return data
