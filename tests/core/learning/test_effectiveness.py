"""Pattern effectiveness: explicit applications and automatic updates on completion."""

from __future__ import annotations

import math
from collections.abc import Callable
from uuid import uuid4

import pytest

from memory_core import (
    Episode,
    InvalidInputError,
    MemoryConfig,
    PatternNotFoundError,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
)
from memory_core.learning import LearningService
from memory_core.learning.effectiveness import usage_score
from memory_core.models import PatternEffectiveness
from memory_core.storage import WriteBatch

BuildEpisode = Callable[..., Episode]
STEPS = [("reader", "read", True), ("editor", "check if fixed", True), ("pytest", "run", True)]


def _learn(
    service: LearningService, store: SQLAlchemyEpisodeStore, ns: str, episode: Episode
) -> Episode:
    scored = service.assess(episode)
    store.write(ns, WriteBatch(completed=[scored]))
    service.submit(scored)
    assert service.wait(60)
    return scored


def test_record_pattern_application_persists(config: MemoryConfig, namespace: str) -> None:
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        eid = memory.start_episode("learn something", TaskContext(domain="web-api"))
        memory.log_step(eid, {"tool": "t", "action": "a", "result": {"kind": "success"}})
        memory.complete_episode(eid, TaskOutcome.success("ok"))
        assert memory.wait_for_learning(timeout=60)
        [pattern] = memory.list_patterns(kind="context_pattern")
        assert pattern.effectiveness.effectiveness_score == 0.5  # never applied: neutral
        first = memory.record_pattern_application(pattern.pattern_id, None, True, 0.5)
        assert first.effectiveness.times_applied == 1
        assert first.effectiveness.effectiveness_score == pytest.approx(1.0 * 1.0 * 1.5)
        memory.record_pattern_application(pattern.pattern_id, uuid4(), helped=False)
        with pytest.raises(PatternNotFoundError):
            memory.record_pattern_application(uuid4(), None, True)
        with pytest.raises(InvalidInputError, match="finite"):
            memory.record_pattern_application(pattern.pattern_id, None, True, math.nan)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        eff = memory.get_pattern(pattern.pattern_id).effectiveness
        assert (eff.times_applied, eff.success_when_applied, eff.failure_when_applied) == (2, 1, 1)
        assert eff.avg_reward_delta == pytest.approx(0.25)  # (0.5 + 0) / 2
        assert eff.last_used is not None
        assert eff.effectiveness_score == pytest.approx(0.5 * (1 + math.log(2) / 3) * 1.25)


def test_completion_updates_retrieved_patterns(
    store: SQLAlchemyEpisodeStore, namespace: str, build: BuildEpisode
) -> None:
    service = LearningService(MemoryConfig(database_url=store.url), store, namespace)
    first = _learn(service, store, namespace, build(STEPS, description="first"))
    retrieved = list(first.pattern_ids)
    assert retrieved
    failed = build(STEPS, TaskOutcome.failure("wrong result"), description="second")
    failed.retrieved_pattern_ids = retrieved
    scored = _learn(service, store, namespace, failed)
    assert first.reward is not None
    assert scored.reward is not None
    for pattern in store.get_patterns(namespace, retrieved):
        eff = pattern.effectiveness
        assert (eff.times_applied, eff.failure_when_applied) == (1, 1)
        assert eff.avg_reward_delta == pytest.approx(
            max(-1.0, scored.reward.total - first.reward.total)
        )
        assert eff.avg_reward_delta < 0
        assert eff.last_used == failed.end_time
    service.close()


def test_explicit_application_is_not_counted_twice(
    store: SQLAlchemyEpisodeStore, namespace: str, build: BuildEpisode
) -> None:
    service = LearningService(MemoryConfig(database_url=store.url), store, namespace)
    first = _learn(service, store, namespace, build(STEPS, description="first"))
    pattern_id = first.pattern_ids[0]
    second = build(STEPS, description="second")
    second.retrieved_pattern_ids = [pattern_id]
    service.record_application(pattern_id, second.episode_id, helped=True, reward_delta=0.2)
    _learn(service, store, namespace, second)
    [pattern] = store.get_patterns(namespace, [pattern_id])
    assert pattern.effectiveness.times_applied == 1
    assert pattern.effectiveness.avg_reward_delta == pytest.approx(0.2)
    service.close()


def test_search_then_complete_updates_effectiveness(memory: SyncSelfLearningMemory) -> None:
    context = TaskContext(domain="web-api", language="python")
    eid = memory.start_episode("first run", context)
    memory.log_step(eid, {"tool": "t", "action": "a", "result": {"kind": "success"}})
    memory.complete_episode(eid, TaskOutcome.success("ok"))
    assert memory.wait_for_learning(timeout=60)

    eid = memory.start_episode("second run", context)
    found = memory.search_patterns(context, limit=5, episode_id=eid)
    assert found
    memory.complete_episode(eid, TaskOutcome.success("ok"))
    assert memory.wait_for_learning(timeout=60)
    by_id = {p.pattern_id: p for p in memory.list_patterns(limit=None)}
    for result in found:
        eff = by_id[result.pattern.pattern_id].effectiveness
        assert (eff.times_applied, eff.success_when_applied) == (1, 1)


def test_usage_score() -> None:
    fresh = PatternEffectiveness()
    assert usage_score(fresh) == pytest.approx(0.4 * 0.5)
    used = PatternEffectiveness(
        times_retrieved=4, times_applied=2, success_when_applied=2, last_used=fresh.created_at
    )
    assert usage_score(used, now=fresh.created_at) == pytest.approx(0.4 + 0.3 * 0.5 + 0.2 + 0.01)
