"""The episode lifecycle through both facades: start, log, complete, read, list, delete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from memory_core import (
    Episode,
    EpisodeNotFoundError,
    ExecutionResult,
    ExecutionStep,
    InvalidInputError,
    MemoryConfig,
    SelfLearningMemory,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
    TokenUsage,
)
from memory_core.models import utcnow
from memory_core.storage import CountingStore


def test_round_trip(memory: SyncSelfLearningMemory) -> None:
    eid = memory.start_episode("Add a test", TaskContext(language="python"))
    memory.log_step(
        eid, ExecutionStep(tool="pytest", action="run", result=ExecutionResult.success("ok"))
    )
    episode = memory.complete_episode(eid, TaskOutcome.success("done"))
    assert memory.get_episode(eid) == episode
    assert [s.step_number for s in episode.steps] == [1]
    assert episode.is_complete
    assert episode.outcome == TaskOutcome.success("done")
    assert episode.context == TaskContext(language="python")
    assert episode.end_time is not None
    assert episode.end_time >= episode.start_time


def test_in_flight_episode_is_readable_and_listed(memory: SyncSelfLearningMemory) -> None:
    eid = memory.start_episode("still running", {"domain": "ops"}, "analysis")
    logged = memory.log_step(eid, {"tool": "shell", "action": "ls", "parameters": {"path": "/"}})
    assert logged.step_number == 1
    running = memory.get_episode(eid)
    assert running.task_type is TaskType.ANALYSIS
    assert running.context.domain == "ops"
    assert running.steps == [logged]
    assert not running.is_complete
    listed = memory.list_episodes(completed=False)
    assert [e.episode_id for e in listed] == [eid]
    assert listed[0].steps == [logged]  # durable before list returns
    assert memory.stats().episodes_in_flight == 1


def test_step_numbers_are_assigned_or_checked(memory: SyncSelfLearningMemory) -> None:
    eid = memory.start_episode("numbering")
    assert memory.log_step(eid, ExecutionStep(tool="t", action="a")).step_number == 1
    assert memory.log_step(eid, ExecutionStep(tool="t", action="b", step_number=5)).step_number == 5
    assert memory.log_step(eid, ExecutionStep(tool="t", action="c")).step_number == 6
    done = memory.complete_episode(eid, TaskOutcome.failure("gave up"))
    assert [s.step_number for s in done.steps] == [1, 5, 6]
    assert [s.action for s in memory.get_episode(eid).steps] == ["a", "b", "c"]


def test_completion_extras_are_stored(memory: SyncSelfLearningMemory) -> None:
    eid = memory.start_episode("extras", metadata={"run": "1"})
    usage = TokenUsage(input_tokens=3, output_tokens=4, total_tokens=7, llm_calls=1)
    done = memory.complete_episode(
        eid,
        TaskOutcome.abstained("impossible", stopped_at_step=0),
        token_usage=usage,
        metadata={"verdict": "skip"},
    )
    assert done.token_usage == usage
    assert done.metadata == {"run": "1", "verdict": "skip"}
    _learned(memory, done)


def _learned(memory: SyncSelfLearningMemory, done: Episode) -> Episode:
    """The stored episode once learning ran; equal to ``done`` but for the learned links."""
    assert memory.wait_for_learning(timeout=30)
    stored = memory.get_episode(done.episode_id)
    links = {"pattern_ids": done.pattern_ids, "heuristic_ids": done.heuristic_ids}
    assert stored.model_copy(update=links) == done
    return stored


def test_returned_episodes_are_copies(config: MemoryConfig, namespace: str) -> None:
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        eid = memory.start_episode("copies")
        memory.log_step(eid, ExecutionStep(tool="t", action="a"))
        memory.get_episode(eid).steps.clear()
        done = memory.complete_episode(eid, TaskOutcome.success("ok"))
        done.steps.clear()
        assert len(memory.get_episode(eid).steps) == 1  # served by the cache
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        first = memory.get_episode(eid)  # read from the store, fills the cache
        first.metadata["mutated"] = "yes"
        first.steps.clear()
        second = memory.get_episode(eid)  # served by the cache
        assert len(second.steps) == 1
        assert "mutated" not in second.metadata


def test_completed_episodes_survive_reopening(config: MemoryConfig, namespace: str) -> None:
    with SyncSelfLearningMemory(config, namespace=namespace) as first:
        eid = first.start_episode("persist me", TaskContext(domain="db", tags=["sql"]))
        for i in range(3):
            first.log_step(eid, ExecutionStep(tool=f"t{i}", action="a"))
        done = _learned(first, first.complete_episode(eid, TaskOutcome.success("stored")))
        running = first.start_episode("left running")
        first.log_step(running, ExecutionStep(tool="t", action="a"))
    with SyncSelfLearningMemory(config, namespace=namespace) as second:
        assert second.get_episode(eid) == done
        assert len(second.get_episode(running).steps) == 1  # flushed on close
        assert second.stats().episodes_total == 2


def test_list_episodes_filters_through_the_memory(memory: SyncSelfLearningMemory) -> None:
    def record(desc: str, domain: str, task_type: TaskType, outcome: TaskOutcome | None) -> Episode:
        eid = memory.start_episode(desc, TaskContext(domain=domain), task_type)
        memory.log_step(eid, ExecutionStep(tool="t", action=desc))
        if outcome is None:
            return memory.get_episode(eid)
        return _learned(memory, memory.complete_episode(eid, outcome))

    before = utcnow()
    a = record("a", "web", TaskType.DEBUGGING, TaskOutcome.success("a"))
    b = record("b", "cli", TaskType.TESTING, TaskOutcome.failure("b"))
    c = record("c", "web", TaskType.TESTING, None)
    d = record("d", "web", TaskType.DEBUGGING, TaskOutcome.failure("d"))

    def names(episodes: list[Episode]) -> list[str]:
        return [e.task_description for e in episodes]

    assert names(memory.list_episodes()) == ["d", "c", "b", "a"]  # newest first
    assert memory.list_episodes()[-1] == a  # full episodes with steps
    assert names(memory.list_episodes(domain="web")) == ["d", "c", "a"]
    assert names(memory.list_episodes(task_type="testing")) == ["c", "b"]
    assert names(memory.list_episodes(task_type=TaskType.DEBUGGING)) == ["d", "a"]
    assert names(memory.list_episodes(outcome_kind="failure")) == ["d", "b"]
    assert names(memory.list_episodes(completed=True, domain="web")) == ["d", "a"]
    assert names(memory.list_episodes(since=c.start_time)) == ["d", "c"]
    assert names(memory.list_episodes(until=c.start_time)) == ["b", "a"]
    assert names(memory.list_episodes(since=before, until=before)) == []
    assert names(memory.list_episodes(since=d.start_time + timedelta(seconds=1))) == []
    assert names(memory.list_episodes(limit=2)) == ["d", "c"]
    assert names(memory.list_episodes(limit=2, offset=1)) == ["c", "b"]
    assert names(memory.list_episodes(limit=None, offset=3)) == ["a"]
    assert b in memory.list_episodes(outcome_kind="failure")


def test_delete_episode(memory: SyncSelfLearningMemory) -> None:
    done = memory.start_episode("completed")
    memory.log_step(done, ExecutionStep(tool="t", action="a"))
    memory.complete_episode(done, TaskOutcome.success("ok"))
    memory.get_episode(done)  # now cached
    running = memory.start_episode("running")
    memory.log_step(running, ExecutionStep(tool="t", action="a"))
    keep = memory.start_episode("keep")

    memory.delete_episode(done)
    memory.delete_episode(running)
    for eid in (done, running):
        with pytest.raises(EpisodeNotFoundError):
            memory.get_episode(eid)
        with pytest.raises(EpisodeNotFoundError):
            memory.delete_episode(eid)
        with pytest.raises(EpisodeNotFoundError):
            memory.log_step(eid, ExecutionStep(tool="t", action="a"))
    assert [e.episode_id for e in memory.list_episodes()] == [keep]
    stats = memory.stats()
    assert (stats.episodes_total, stats.episodes_in_flight) == (1, 1)


def test_stats_counts(memory: SyncSelfLearningMemory) -> None:
    for i in range(3):
        eid = memory.start_episode(f"task {i}")
        if i:
            memory.complete_episode(eid, TaskOutcome.success("ok"))
    stats = memory.stats()
    assert stats.namespace == memory.namespace
    assert (stats.episodes_total, stats.episodes_completed, stats.episodes_in_flight) == (3, 2, 1)
    assert stats.pending_writes == 0


class _ListingStore:
    """The real store without its counting capability: counts are taken by listing."""

    def __init__(self, inner: SQLAlchemyEpisodeStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name.startswith("count_") and name != "count_episodes":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_stats_are_the_same_for_a_store_that_cannot_count(
    config: MemoryConfig, namespace: str
) -> None:
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        for i in range(4):
            eid = memory.start_episode(f"Fix the flaky test {i}", TaskContext(domain="ci"))
            memory.log_step(eid, ExecutionStep(tool="pytest", action="rerun the test"))
            memory.complete_episode(eid, TaskOutcome.success("ok"))
        assert memory.wait_for_learning(timeout=60)
        counted = memory.stats()
    inner = SQLAlchemyEpisodeStore(config.database_url)
    store = _ListingStore(inner)
    assert isinstance(inner, CountingStore)
    assert not isinstance(store, CountingStore)
    try:
        with SyncSelfLearningMemory(config, namespace=namespace, store=store) as memory:  # type: ignore[arg-type]
            listed = memory.stats()
    finally:
        inner.close()
    assert counted.patterns_total > 0
    fields = ("episodes_completed", "episodes_unlearned", "patterns_total", "heuristics_total")
    assert [getattr(listed, f) for f in fields] == [getattr(counted, f) for f in fields]


def test_close_is_idempotent_and_final(config: MemoryConfig, namespace: str) -> None:
    memory = SyncSelfLearningMemory(config, namespace=namespace)
    memory.close()
    memory.close()
    with pytest.raises(InvalidInputError, match="closed"):
        memory.start_episode("too late")


def test_sync_view_shares_the_memory(config: MemoryConfig, namespace: str) -> None:
    memory = SelfLearningMemory(config, namespace=namespace)
    view = memory.sync
    assert view.sync is view
    assert view.namespace == namespace
    assert view.config is memory.config
    eid = view.start_episode("through the view")
    assert view.engine is memory.engine
    view.complete_episode(eid, TaskOutcome.success("ok"))
    view.close()


async def test_async_facade_lifecycle(config: MemoryConfig, namespace: str) -> None:
    async with SelfLearningMemory(config, namespace=namespace) as memory:
        assert repr(memory) == f"SelfLearningMemory(namespace={namespace!r})"
        eid = await memory.start_episode("async task", TaskContext(domain="web"), TaskType.TESTING)
        step = await memory.log_step(eid, ExecutionStep(tool="pytest", action="run"))
        assert step.step_number == 1
        running = await memory.get_episode(eid)
        assert running.steps == [step]
        await memory.flush()
        done = await memory.complete_episode(eid, TaskOutcome.success("green"))
        assert done.is_complete
        assert await memory.wait_for_learning(timeout=30) is True
        stored = await memory.get_episode(eid)
        assert stored.model_copy(update={"pattern_ids": done.pattern_ids}) == done
        assert await memory.list_episodes(domain="web") == [stored]
        found = await memory.retrieve_relevant_context("async task", TaskContext(domain="web"))
        assert all(isinstance(e, Episode) for e in found)
        assert isinstance(await memory.retrieve_relevant_patterns(TaskContext(domain="web")), list)
        stats = await memory.stats()
        assert stats.episodes_completed == 1
        await memory.delete_episode(eid)
        assert await memory.list_episodes() == []
    await memory.close()  # idempotent after the context manager closed it


def test_sync_and_async_facades_have_the_same_methods() -> None:
    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    assert public(SelfLearningMemory) == public(SyncSelfLearningMemory)
