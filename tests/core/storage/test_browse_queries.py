"""The store's aggregate queries for browsing (web UI), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from tests.support.rewards import flat_reward

from memory_core.models import (
    Episode,
    ExecutionResult,
    ExecutionStep,
    Heuristic,
    TaskContext,
    TaskOutcome,
    TaskType,
    ToolSequence,
)
from memory_core.storage import EpisodeQuery, SQLAlchemyEpisodeStore, WriteBatch
from memory_core.storage.browse import BrowsableStore

T0 = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)


def _episode(index: int, outcome: str | None) -> Episode:
    start = T0 + timedelta(hours=5 * index)  # crosses midnight UTC
    made = {
        "success": TaskOutcome.success("done"),
        "failure": TaskOutcome.failure("broke"),
        "partial_success": TaskOutcome.partial_success("half", completed=["a"], failed=["b"]),
    }
    return Episode(
        task_description=f"task {index}",
        task_type=TaskType.DEBUGGING if index % 2 else TaskType.TESTING,
        context=TaskContext(domain="web-api" if index % 3 else "data"),
        start_time=start,
        end_time=None if outcome is None else start + timedelta(minutes=1),
        steps=[
            ExecutionStep(step_number=1, tool="t", action="a", result=ExecutionResult.success("ok"))
        ],
        outcome=None if outcome is None else made[outcome],
        reward=None if outcome is None else flat_reward(0.5 + index / 10),
    )


OUTCOMES = ["success", "failure", "success", "partial_success", "success", None]


def _seed(store: SQLAlchemyEpisodeStore, namespace: str) -> list[Episode]:
    episodes = [_episode(i, kind) for i, kind in enumerate(OUTCOMES)]
    store.write(namespace, WriteBatch(completed=[e for e in episodes if e.outcome]))
    store.write(namespace, WriteBatch(new_episodes=[e for e in episodes if not e.outcome]))
    return episodes


def test_the_sqlalchemy_store_is_browsable(store: SQLAlchemyEpisodeStore) -> None:
    assert isinstance(store, BrowsableStore)


def test_namespaces_with_counts(store: SQLAlchemyEpisodeStore, namespace: str) -> None:
    _seed(store, namespace)
    _seed(store, namespace + "-b")
    only_patterns = namespace + "-p"
    store.merge_patterns(
        only_patterns, None, [ToolSequence(tools=["a"], success_rate=1.0)], lambda n, s: None
    )
    found = dict(store.list_namespaces())
    assert found[namespace] == 6
    assert found[namespace + "-b"] == 6
    assert found[only_patterns] == 0
    names = [name for name, _ in store.list_namespaces()]
    assert names == sorted(names)


def test_counts_follow_the_list_filters(store: SQLAlchemyEpisodeStore, namespace: str) -> None:
    _seed(store, namespace)
    _seed(store, namespace + "-other")
    queries = [
        EpisodeQuery(),
        EpisodeQuery(domain="data"),
        EpisodeQuery(task_type=TaskType.TESTING),
        EpisodeQuery(outcome_kind="success"),
        EpisodeQuery(completed=False),
        EpisodeQuery(completed=True, min_reward=0.7),
        EpisodeQuery(since=T0 + timedelta(hours=6), until=T0 + timedelta(hours=21)),
    ]
    for query in queries:
        listed = store.list_episodes(namespace, dataclasses.replace(query, limit=None))
        assert store.count_matching_episodes(namespace, query) == len(listed), query
    assert store.count_matching_episodes(namespace, EpisodeQuery(outcome_kind="success")) == 3


def test_activity_per_day_and_outcome(store: SQLAlchemyEpisodeStore, namespace: str) -> None:
    episodes = _seed(store, namespace)
    rows = store.episode_activity(namespace)
    assert [r.day for r in rows] == sorted(r.day for r in rows)
    assert sum(r.count for r in rows) == 6
    per_day: dict[date, int] = {}
    for episode in episodes:
        per_day[episode.start_time.date()] = per_day.get(episode.start_time.date(), 0) + 1
    for day, count in per_day.items():
        assert sum(r.count for r in rows if r.day == day) == count
    successes = [r for r in rows if r.outcome_kind == "success"]
    assert sum(r.count for r in successes) == 3
    in_flight = [r for r in rows if r.outcome_kind is None]
    assert sum(r.count for r in in_flight) == 1
    assert all(r.rewarded == 0 for r in in_flight)
    rewards = [e.reward.total for e in episodes if e.reward]
    assert abs(sum(r.reward_sum for r in rows) - sum(rewards)) < 1e-9
    assert sum(r.rewarded for r in rows) == 5
    assert store.episode_activity(namespace + "-empty") == []


def test_recent_outcomes_oldest_first(store: SQLAlchemyEpisodeStore, namespace: str) -> None:
    _seed(store, namespace)
    assert store.recent_outcomes(namespace, 100) == [True, False, True, False, True]
    assert store.recent_outcomes(namespace, 2) == [False, True]


def test_domains_patterns_heuristics_and_links(
    store: SQLAlchemyEpisodeStore, namespace: str
) -> None:
    episodes = _seed(store, namespace)
    assert store.episode_domains(namespace) == [("web-api", 4), ("data", 2)]
    pattern = ToolSequence(tools=["a", "b"], success_rate=0.5, occurrence_count=4)
    for episode in episodes[:3]:
        store.merge_patterns(
            namespace,
            episode.episode_id,
            [pattern],
            lambda new, stored: next((s for s in stored if s.pattern_id == new.pattern_id), None),
        )
    ranks = store.pattern_ranks(namespace)
    assert [(r.pattern_id, r.success_rate, r.occurrence_count) for r in ranks] == [
        (pattern.pattern_id, 0.5, 4)
    ]
    assert store.count_pattern_links(namespace, pattern.pattern_id) == 3
    assert store.count_pattern_links(namespace + "-other", pattern.pattern_id) == 0
    assert store.count_heuristics(namespace) == 0
    store.merge_heuristics(
        namespace, [Heuristic(condition="c", action="a", sample_size=1)], lambda n, s: None
    )
    assert store.count_heuristics(namespace) == 1
    assert store.pattern_ranks(namespace + "-other") == []
