"""Two namespaces on one database never see each other's episodes or patterns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import pytest

from memory_core import (
    EpisodeNotFoundError,
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    PatternNotFoundError,
    SelfLearningMemory,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
)

CONTEXT = TaskContext(language="python", domain="web-api", tags=["auth"])


@dataclass
class Tenant:
    memory: SyncSelfLearningMemory
    completed: list[UUID]
    running: UUID
    patterns: list[UUID]


def _fill(memory: SyncSelfLearningMemory, label: str) -> Tenant:
    """Record the same kind of work as the other tenant, so only the namespace differs."""
    completed = []
    for i in range(3):
        eid = memory.start_episode(f"Fix the login bug {i}", CONTEXT, TaskType.DEBUGGING)
        memory.log_step(
            eid,
            ExecutionStep(tool="pytest", action="run", result=ExecutionResult.error("401")),
        )
        memory.log_step(
            eid,
            ExecutionStep(tool="editor", action=f"fix {label}", result=ExecutionResult.success()),
        )
        memory.log_step(
            eid, ExecutionStep(tool="pytest", action="rerun", result=ExecutionResult.success())
        )
        memory.complete_episode(eid, TaskOutcome.success(f"fixed by {label}"))
        completed.append(eid)
    running = memory.start_episode("Fix the login bug, still running", CONTEXT)
    memory.log_step(running, ExecutionStep(tool="grep", action=label))
    assert memory.wait_for_learning(timeout=30)
    patterns = [p.pattern_id for p in memory.list_patterns(limit=None)]
    assert patterns, "learning stored patterns for the tenant"
    return Tenant(memory, completed, running, patterns)


@pytest.fixture
def tenants(config: MemoryConfig, namespace: str) -> Iterator[tuple[Tenant, Tenant]]:
    with (
        SyncSelfLearningMemory(config, namespace=namespace + "-a") as a,
        SyncSelfLearningMemory(config, namespace=namespace + "-b") as b,
    ):
        yield _fill(a, "a"), _fill(b, "b")


def _own(tenant: Tenant) -> set[UUID]:
    return {*tenant.completed, tenant.running}


def test_reads_see_only_their_namespace(tenants: tuple[Tenant, Tenant]) -> None:
    for me, other in (tenants, tenants[::-1]):
        m = me.memory
        assert {e.episode_id for e in m.list_episodes(limit=None)} == _own(me)
        assert {e.episode_id for e in m.list_episodes(domain="web-api", limit=None)} == _own(me)
        for eid in _own(other):
            with pytest.raises(EpisodeNotFoundError):
                m.get_episode(eid)
        found = m.retrieve_relevant_context("Fix the login bug", CONTEXT, limit=50)
        assert found
        assert {e.episode_id for e in found} <= set(me.completed)
        ranked = m.search_episodes("Fix the login bug", CONTEXT, 50, include_below_floor=True)
        assert {r.episode.episode_id for r in ranked} <= set(me.completed)

        assert {p.pattern_id for p in m.list_patterns(limit=None)} == set(me.patterns)
        assert not set(me.patterns) & set(other.patterns)
        relevant = m.retrieve_relevant_patterns(CONTEXT, limit=100)
        assert relevant
        assert {p.pattern_id for p in relevant} <= set(me.patterns)
        searched = m.search_patterns(CONTEXT, 100, task_description="Fix the login bug")
        assert {r.pattern.pattern_id for r in searched} <= set(me.patterns)
        for pid in other.patterns:
            with pytest.raises(PatternNotFoundError):
                m.get_pattern(pid)
        heuristics_of_other = {h.heuristic_id for h in other.memory.list_heuristics(limit=None)}
        assert not {h.heuristic_id for h in m.list_heuristics(limit=None)} & heuristics_of_other

        stats = m.stats()
        assert stats.namespace == m.namespace
        assert (stats.episodes_total, stats.episodes_completed) == (4, 3)
        assert stats.patterns_total == len(me.patterns)


def test_writes_cannot_reach_another_namespace(tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    before = {e.episode_id: e for e in a.memory.list_episodes(limit=None)}
    patterns_before = {p.pattern_id: p for p in a.memory.list_patterns(limit=None)}

    with pytest.raises(EpisodeNotFoundError):
        b.memory.log_step(a.running, ExecutionStep(tool="t", action="intrude"))
    with pytest.raises(EpisodeNotFoundError):
        b.memory.complete_episode(a.running, TaskOutcome.failure("intrude"))
    for eid in _own(a):
        with pytest.raises(EpisodeNotFoundError):
            b.memory.delete_episode(eid)
    for pid in a.patterns:
        with pytest.raises(PatternNotFoundError):
            b.memory.record_pattern_application(pid, None, helped=False)
    with pytest.raises(EpisodeNotFoundError):
        b.memory.search_patterns(CONTEXT, 5, episode_id=a.running)

    assert {e.episode_id: e for e in a.memory.list_episodes(limit=None)} == before
    assert {p.pattern_id: p for p in a.memory.list_patterns(limit=None)} == patterns_before
    # b's own data is untouched by the attempts too.
    assert {e.episode_id for e in b.memory.list_episodes(limit=None)} == _own(b)
    # Deleting in b leaves a alone.
    b.memory.delete_episode(b.completed[0])
    assert {e.episode_id for e in a.memory.list_episodes(limit=None)} == _own(a)
    assert a.memory.stats().episodes_total == 4


def test_the_same_episode_id_can_live_in_two_namespaces(
    config: MemoryConfig, namespace: str
) -> None:
    with (
        SyncSelfLearningMemory(config, namespace=namespace + "-x") as x,
        SyncSelfLearningMemory(config, namespace=namespace + "-y") as y,
    ):
        eid = x.start_episode("in x")
        assert y.engine.start_episode("in y", episode_id=eid) == eid
        x.log_step(eid, ExecutionStep(tool="x", action="x"))
        y.complete_episode(eid, TaskOutcome.success("y done"))
        assert x.get_episode(eid).task_description == "in x"
        assert not x.get_episode(eid).is_complete
        assert y.get_episode(eid).steps == []
        x.delete_episode(eid)
        assert y.get_episode(eid).task_description == "in y"


async def test_async_facade_is_scoped_too(config: MemoryConfig, namespace: str) -> None:
    async with (
        SelfLearningMemory(config, namespace=namespace + "-p") as p,
        SelfLearningMemory(config, namespace=namespace + "-q") as q,
    ):
        eid = await p.start_episode("only in p", CONTEXT)
        await p.complete_episode(eid, TaskOutcome.success("ok"))
        assert await q.list_episodes() == []
        assert await q.retrieve_relevant_context("only in p", CONTEXT) == []
        with pytest.raises(EpisodeNotFoundError):
            await q.get_episode(eid)
        assert (await q.stats()).episodes_total == 0
