"""The learning queue: background extraction, backpressure policies, failures, close/reopen.

Driven by ``wait()`` / ``wait_for_learning()`` and events, never by sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest

from memory_core import (
    Episode,
    LearningConfig,
    LearningQueueFullError,
    MemoryConfig,
    Pattern,
    SelfLearningMemory,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    hookimpl,
)
from memory_core.learning import LearningService, default_extractors
from memory_core.storage import WriteBatch
from memory_core.storage.base import LearningTransaction, LearningWrites, PatternMerge

BuildEpisode = Callable[..., Episode]
STEPS = [("reader", "read", True), ("editor", "check if fixed", True), ("pytest", "run", True)]


def _service(
    store: SQLAlchemyEpisodeStore,
    namespace: str,
    extra: Sequence[Any] = (),
    **learning: Any,
) -> LearningService:
    config = MemoryConfig(database_url=store.url, learning=LearningConfig(**learning))
    return LearningService(config, store, namespace, extractors=[*extra, *default_extractors()])


def _complete(
    service: LearningService, store: SQLAlchemyEpisodeStore, namespace: str, episode: Episode
) -> Episode:
    """What the engine does on completion: admit, assess, store, submit."""
    service.admit()
    scored = service.assess(episode)
    store.write(namespace, WriteBatch(completed=[scored]))
    service.submit(scored)
    return scored


def _join_workers(namespace: str) -> None:
    for thread in threading.enumerate():
        if thread.name.startswith(f"memory-core-learning[{namespace}]"):
            thread.join(30)
            assert not thread.is_alive()


def _context_count(store: SQLAlchemyEpisodeStore, namespace: str) -> int:
    [pattern] = store.list_patterns(namespace, kind="context_pattern")
    return pattern.occurrence_count


# ------------------------------------------------------------ through the facade


def test_background_extraction(memory: SyncSelfLearningMemory) -> None:
    ids = []
    for index in range(3):
        eid = memory.start_episode(f"task {index}", TaskContext(domain="web-api"))
        memory.log_step(eid, {"tool": "editor", "action": "edit", "result": {"kind": "success"}})
        memory.complete_episode(eid, TaskOutcome.success("ok"))
        ids.append(eid)
    assert memory.wait_for_learning(timeout=60)
    stats = memory.stats().learning
    assert (stats.queued, stats.in_flight, stats.processed, stats.failed) == (0, 0, 3, 0)
    assert stats.inline == 0
    for eid in ids:
        assert memory.get_episode(eid).pattern_ids
    assert memory.engine.store.unlearned_episode_ids(memory.namespace) == []


def test_learning_inline_when_background_is_off(database_url: str, namespace: str) -> None:
    config = MemoryConfig(
        database_url=database_url, load_plugins=False, learning=LearningConfig(background=False)
    )
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        eid = memory.start_episode("inline")
        memory.log_step(eid, {"tool": "t", "action": "a", "result": {"kind": "success"}})
        done = memory.complete_episode(eid, TaskOutcome.success("ok"))
        assert done.pattern_ids  # learned before complete_episode returned
        stats = memory.stats().learning
        assert (stats.processed, stats.inline, stats.queued) == (1, 1, 0)


async def test_async_wait_for_learning(config: MemoryConfig, namespace: str) -> None:
    async with SelfLearningMemory(config, namespace=namespace) as memory:
        eid = await memory.start_episode("async")
        await memory.complete_episode(eid, TaskOutcome.success("ok"))
        assert await memory.wait_for_learning(timeout=60)
        assert (await memory.stats()).learning.processed == 1


def test_close_drains_the_queue(config: MemoryConfig, namespace: str) -> None:
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        for index in range(5):
            eid = memory.start_episode(f"drain {index}")
            memory.log_step(eid, {"tool": "t", "action": "a", "result": {"kind": "success"}})
            memory.complete_episode(eid, TaskOutcome.success("ok"))
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        assert memory.engine.store.unlearned_episode_ids(namespace) == []
        [pattern] = memory.list_patterns(kind="context_pattern")
        assert pattern.occurrence_count == 5


# ----------------------------------------------------------- backpressure


@pytest.fixture
def full_queue(
    store: SQLAlchemyEpisodeStore,
    namespace: str,
    build: BuildEpisode,
    gate_factory: Callable[..., Any],
) -> Callable[..., tuple[LearningService, Any]]:
    """A service with one worker blocked on its first episode and a full queue of one."""

    def make(**learning: Any) -> tuple[LearningService, Any]:
        gate = gate_factory(hold=True)
        service = _service(store, namespace, [gate], workers=1, queue_size=1, **learning)
        _complete(service, store, namespace, build(STEPS, description="first"))
        assert gate.entered.wait(30)  # the worker holds episode 1
        _complete(service, store, namespace, build(STEPS, description="second"))
        assert service.stats().queued == 1
        return service, gate

    return make


def test_reject_policy_raises_before_storing(
    full_queue: Callable[..., tuple[LearningService, Any]],
    store: SQLAlchemyEpisodeStore,
    namespace: str,
    build: BuildEpisode,
) -> None:
    service, gate = full_queue(backpressure="reject")
    third = build(STEPS, description="third")
    with pytest.raises(LearningQueueFullError, match="was not stored"):
        _complete(service, store, namespace, third)
    assert store.get_episode(namespace, third.episode_id) is None
    assert service.stats().rejected == 1
    gate.release.set()
    assert service.wait(60)
    assert service.stats().processed == 2
    _complete(service, store, namespace, third)  # room again: accepted
    assert service.wait(60)
    service.close()
    assert store.unlearned_episode_ids(namespace) == []


def test_block_policy_gives_up_after_its_timeout(
    full_queue: Callable[..., tuple[LearningService, Any]],
    store: SQLAlchemyEpisodeStore,
    namespace: str,
    build: BuildEpisode,
) -> None:
    service, gate = full_queue(backpressure="block", block_timeout_seconds=0.05)
    third = build(STEPS, description="third")
    with pytest.raises(LearningQueueFullError, match=r"after waiting 0\.05 s"):
        _complete(service, store, namespace, third)
    assert store.get_episode(namespace, third.episode_id) is None
    assert service.stats().rejected == 1
    gate.release.set()
    service.close()


def test_block_policy_waits_for_room(
    full_queue: Callable[..., tuple[LearningService, Any]],
    store: SQLAlchemyEpisodeStore,
    namespace: str,
    build: BuildEpisode,
) -> None:
    service, gate = full_queue(backpressure="block", block_timeout_seconds=60)
    third = build(STEPS, description="third")
    failures: list[BaseException] = []

    def complete() -> None:
        try:
            _complete(service, store, namespace, third)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    blocked = threading.Thread(target=complete)
    blocked.start()
    gate.release.set()
    blocked.join(60)
    assert failures == []
    assert service.wait(60)
    stats = service.stats()
    assert (stats.processed, stats.rejected, stats.inline) == (3, 0, 0)
    service.close()
    assert store.unlearned_episode_ids(namespace) == []


def test_inline_policy_learns_in_the_caller(
    full_queue: Callable[..., tuple[LearningService, Any]],
    store: SQLAlchemyEpisodeStore,
    namespace: str,
    build: BuildEpisode,
) -> None:
    service, gate = full_queue()  # "inline" is the default
    third = _complete(service, store, namespace, build(STEPS, description="third"))
    assert third.pattern_ids  # learned before submit returned
    stored = store.get_episode(namespace, third.episode_id)
    assert stored is not None
    assert stored.pattern_ids == third.pattern_ids
    assert service.stats().inline == 1
    gate.release.set()
    assert service.wait(60)
    assert service.stats().processed == 3
    service.close()


# ------------------------------------------------------------- failures


class FlakyStore(SQLAlchemyEpisodeStore):
    """The real store, failing pattern merges of chosen episodes (a database outage)."""

    def __init__(self, url: str, failing: set[UUID]) -> None:
        super().__init__(url)
        self.failing = failing

    def merge_patterns(
        self,
        namespace: str,
        episode_id: UUID | None,
        patterns: Sequence[Pattern],
        merge: PatternMerge,
    ) -> list[Pattern]:
        if episode_id in self.failing:
            raise RuntimeError("database went away")
        return super().merge_patterns(namespace, episode_id, patterns, merge)

    @contextmanager
    def learning_transaction(self, namespace: str) -> Iterator[LearningTransaction]:
        with super().learning_transaction(namespace) as tx:
            yield _FlakyTransaction(tx, self.failing)


class _FlakyTransaction:
    """A learning transaction whose write fails when it marks a chosen episode learned."""

    def __init__(self, inner: LearningTransaction, failing: set[UUID]) -> None:
        self._inner = inner
        self._failing = failing

    def write(self, writes: LearningWrites) -> None:
        if any(e.episode_id in self._failing for e in writes.learned):
            raise RuntimeError("database went away")
        self._inner.write(writes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_worker_error_is_logged_counted_and_survived(
    database_url: str, namespace: str, build: BuildEpisode, caplog: pytest.LogCaptureFixture
) -> None:
    episodes = [build(STEPS, description=f"e{i}") for i in range(3)]
    flaky = FlakyStore(database_url, {episodes[1].episode_id})
    service = _service(flaky, namespace)
    for episode in episodes:
        _complete(service, flaky, namespace, episode)
    assert service.wait(60)
    stats = service.stats()
    assert (stats.processed, stats.failed) == (2, 1)
    assert f"learning failed for episode {episodes[1].episode_id}" in caplog.text
    assert flaky.unlearned_episode_ids(namespace) == [episodes[1].episode_id]
    service.close()
    flaky.failing.clear()  # the database is back: the next open learns the episode
    again = _service(flaky, namespace)
    again.resume()
    assert again.wait(60)
    assert again.stats().processed == 1
    assert flaky.unlearned_episode_ids(namespace) == []
    assert _context_count(flaky, namespace) == 3
    again.close()
    flaky.close()


def test_failing_extractor_is_isolated(
    store: SQLAlchemyEpisodeStore,
    namespace: str,
    build: BuildEpisode,
    gate_factory: Callable[..., Any],
) -> None:
    service = _service(store, namespace, [gate_factory(fail_on="boom")])
    _complete(service, store, namespace, build(STEPS, description="boom"))
    assert service.wait(60)
    assert service.stats().processed == 1
    assert service.extractor_errors == {"gate": 1}
    assert _context_count(store, namespace) == 1
    service.close()


# ---------------------------------------------------------- close / reopen


def test_nothing_is_lost_when_close_times_out(
    store: SQLAlchemyEpisodeStore,
    namespace: str,
    build: BuildEpisode,
    gate_factory: Callable[..., Any],
) -> None:
    gate = gate_factory(hold=True)
    service = _service(store, namespace, [gate], workers=1, close_timeout_seconds=0)
    episodes = [build(STEPS, description=f"e{i}") for i in range(3)]
    for episode in episodes:
        _complete(service, store, namespace, episode)
    assert gate.entered.wait(30)
    service.close()  # the worker is stuck on episode 0; 1 and 2 never started
    assert set(store.unlearned_episode_ids(namespace)) == {e.episode_id for e in episodes}

    reopened = _service(store, namespace)  # the next open
    reopened.resume()
    assert reopened.wait(60)
    assert reopened.stats().processed == 3
    assert store.unlearned_episode_ids(namespace) == []
    reopened.close()
    gate.release.set()  # the old worker finishes episode 0 as well: counted once
    _join_workers(namespace)
    assert _context_count(store, namespace) == 3
    [sequence] = store.list_patterns(namespace, kind="tool_sequence")
    assert sequence.occurrence_count == 3


def test_reopened_memory_resumes_unlearned_episodes(
    config: MemoryConfig, namespace: str, build: BuildEpisode, store: SQLAlchemyEpisodeStore
) -> None:
    episodes = [build(STEPS, description=f"e{i}") for i in range(4)]
    store.write(namespace, WriteBatch(completed=episodes))  # stored, never learned (a crash)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        assert memory.wait_for_learning(timeout=60)
        assert memory.stats().learning.processed == 4
        assert memory.engine.store.unlearned_episode_ids(namespace) == []
        [pattern] = memory.list_patterns(kind="context_pattern")
        assert pattern.occurrence_count == 4


class ExtractorPlugin:
    """Registers one extractor through the plugin hook, as an installed plugin would."""

    def __init__(self, extractor: Any) -> None:
        self.extractor = extractor

    @hookimpl
    def register_pattern_extractors(self, register: Callable[[Any], None]) -> None:
        register(self.extractor)


def test_reject_through_the_facade_keeps_the_episode_in_progress(
    database_url: str, namespace: str, gate_factory: Callable[..., Any]
) -> None:
    gate = gate_factory(hold=True)

    config = MemoryConfig(
        database_url=database_url,
        load_plugins=False,
        learning=LearningConfig(workers=1, queue_size=1, backpressure="reject"),
    )
    with SyncSelfLearningMemory(
        config, namespace=namespace, plugins=[ExtractorPlugin(gate)]
    ) as memory:
        ids = [memory.start_episode(f"task {i}") for i in range(3)]
        memory.complete_episode(ids[0], TaskOutcome.success("ok"))
        assert gate.entered.wait(30)
        memory.complete_episode(ids[1], TaskOutcome.success("ok"))
        with pytest.raises(LearningQueueFullError):
            memory.complete_episode(ids[2], TaskOutcome.success("ok"))
        assert not memory.get_episode(ids[2]).is_complete
        gate.release.set()
        assert memory.wait_for_learning(timeout=60)
        assert memory.complete_episode(ids[2], TaskOutcome.success("ok")).is_complete
        assert memory.wait_for_learning(timeout=60)
        assert memory.stats().learning.rejected == 1


def test_completion_is_stored_at_once_while_learning_is_behind(
    database_url: str, namespace: str, gate_factory: Callable[..., Any]
) -> None:
    gate = gate_factory(hold=True)

    config = MemoryConfig(
        database_url=database_url,
        load_plugins=False,
        flush_interval_ms=60_000,  # only explicit flushes write
        learning=LearningConfig(workers=1, queue_size=1),
    )
    with SyncSelfLearningMemory(
        config, namespace=namespace, plugins=[ExtractorPlugin(gate)]
    ) as memory:
        ids = [memory.start_episode(f"task {i}") for i in range(3)]
        memory.complete_episode(ids[0], TaskOutcome.success("ok"))
        memory.flush()
        assert gate.entered.wait(30)  # the worker holds episode 0
        memory.complete_episode(ids[1], TaskOutcome.success("ok"))  # room: queued in the buffer
        assert memory.engine._buffer.completions_pending == 1
        memory.flush()  # episode 1 now waits in the full learning queue
        memory.complete_episode(ids[2], TaskOutcome.success("ok"))  # no room: stored, learned here
        assert memory.engine._buffer.completions_pending == 0
        assert memory.engine.learning.stats().inline == 1
        store = memory.engine.store
        assert store.get_episode(namespace, ids[2]).is_complete
        assert ids[2] not in store.unlearned_episode_ids(namespace)
        gate.release.set()
        assert memory.wait_for_learning(timeout=60)
        assert store.unlearned_episode_ids(namespace) == []
