"""Completion through the write-behind buffer, and searches served without a store read.

In the default configuration ``complete_episode`` queues the final state like a logged
step: it is visible to this process at once (get, search, a second completion, a step
logged to it) and durable within ``flush_interval_ms``; learning starts once it is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any
from uuid import UUID

import pytest

from memory_core import (
    EpisodeAlreadyCompletedError,
    ExecutionResult,
    ExecutionStep,
    InvalidInputError,
    LearningConfig,
    MemoryConfig,
    SelfLearningMemory,
    SQLAlchemyEpisodeStore,
    StorageError,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    hookimpl,
)
from memory_core.storage import WriteBatch

CONTEXT = TaskContext(domain="web-api", language="python")
SLOW_FLUSH = {"flush_interval_ms": 60_000}  # the timer never fires during a test


def _run(memory: SyncSelfLearningMemory, task: str = "Fix the failing login test") -> UUID:
    episode_id = memory.start_episode(task, CONTEXT)
    memory.log_step(
        episode_id,
        ExecutionStep(tool="pytest", action="run the test", result=ExecutionResult.success("ok")),
    )
    return episode_id


def _stored(url: str, namespace: str, episode_id: UUID) -> Any:
    """The episode as another process would read it from the database."""
    store = SQLAlchemyEpisodeStore(url)
    try:
        return store.get_episode(namespace, episode_id)
    finally:
        store.close()


def test_completion_is_visible_at_once_and_durable_after_the_flush(
    database_url: str, namespace: str
) -> None:
    config = MemoryConfig(database_url=database_url, load_plugins=False, **SLOW_FLUSH)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        episode_id = _run(memory)
        memory.flush()  # the start and the step are durable; the completion is not yet
        episode = memory.complete_episode(episode_id, TaskOutcome.success("passes"))

        assert not _stored(database_url, namespace, episode_id).is_complete
        assert memory.get_episode(episode_id) == episode
        with pytest.raises(EpisodeAlreadyCompletedError):
            memory.log_step(episode_id, ExecutionStep(tool="git", action="commit"))
        with pytest.raises(EpisodeAlreadyCompletedError):
            memory.complete_episode(episode_id, TaskOutcome.success("again"))
        learning = memory.engine.learning.stats()  # (stats() would flush first)
        assert learning.processed + learning.queued + learning.in_flight == 0

        memory.flush()
        stored = _stored(database_url, namespace, episode_id)
        assert stored.is_complete
        assert stored.reward == episode.reward
        assert [s.step_number for s in stored.steps] == [1]
        assert memory.wait_for_learning(timeout=60)
        assert memory.stats().learning.processed == 1
        assert memory.list_patterns()


def test_search_finds_a_completion_still_in_the_buffer(sqlite_url: str, namespace: str) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False, **SLOW_FLUSH)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        assert memory.search_episodes("anything") == []  # the index exists from here on
        episode_id = _run(memory)
        memory.flush()
        memory.complete_episode(episode_id, TaskOutcome.success("passes"))
        [found] = memory.search_episodes("Fix the failing login test", CONTEXT)
        assert found.episode.episode_id == episode_id
        assert found.episode.is_complete
        assert not _stored(sqlite_url, namespace, episode_id).is_complete


def test_close_makes_completions_durable_and_learned(sqlite_url: str, namespace: str) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False, **SLOW_FLUSH)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        ids = [_run(memory, f"Fix the failing login test {i}") for i in range(20)]
        for episode_id in ids:
            memory.complete_episode(episode_id, TaskOutcome.success("passes"))
    store = SQLAlchemyEpisodeStore(sqlite_url)
    try:
        assert store.count_episodes(namespace, completed=True) == 20
        assert store.unlearned_episode_ids(namespace) == []
    finally:
        store.close()


def test_bad_input_raises_before_anything_is_queued(sqlite_url: str, namespace: str) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False, **SLOW_FLUSH)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        episode_id = _run(memory)
        with pytest.raises(InvalidInputError):
            memory.complete_episode(episode_id, {"kind": "no-such-outcome"})
        assert memory.get_episode(episode_id).outcome is None
        assert memory.engine._buffer.completing(episode_id) is None
        memory.complete_episode(episode_id, TaskOutcome.success("fixed the input"))
        memory.flush()
        assert _stored(sqlite_url, namespace, episode_id).outcome.verdict == "fixed the input"


class _FlakyStore:
    """The real store, except that writing completed episodes fails while ``down`` is set."""

    def __init__(self, inner: SQLAlchemyEpisodeStore) -> None:
        self._inner = inner
        self.down = threading.Event()

    def write(self, namespace: str, batch: WriteBatch) -> None:
        if batch.completed and self.down.is_set():
            raise StorageError("database is down")
        self._inner.write(namespace, batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_a_failed_completion_write_is_kept_and_retried(sqlite_url: str, namespace: str) -> None:
    inner = SQLAlchemyEpisodeStore(sqlite_url)
    store = _FlakyStore(inner)
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False, **SLOW_FLUSH)
    memory = SyncSelfLearningMemory(config, namespace=namespace, store=store)  # type: ignore[arg-type]
    try:
        episode_id = _run(memory)
        memory.flush()
        store.down.set()
        episode = memory.complete_episode(episode_id, TaskOutcome.success("passes"))
        with pytest.raises(StorageError):
            memory.flush()
        assert memory.get_episode(episode_id) == episode  # still served from the buffer
        assert not inner.get_episode(namespace, episode_id).is_complete
        assert memory.engine._buffer.pending == 1

        store.down.clear()
        memory.flush()
        assert inner.get_episode(namespace, episode_id).is_complete
        assert memory.wait_for_learning(timeout=60)
        assert memory.engine.learning.stats().processed == 1
    finally:
        memory.close()
        inner.close()


def test_reject_backpressure_still_stores_on_return(sqlite_url: str, namespace: str) -> None:
    config = MemoryConfig(
        database_url=sqlite_url,
        load_plugins=False,
        learning=LearningConfig(backpressure="reject"),
        **SLOW_FLUSH,
    )
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        episode_id = _run(memory)
        memory.complete_episode(episode_id, TaskOutcome.success("passes"))
        assert _stored(sqlite_url, namespace, episode_id).is_complete


class _CountingStore:
    """The real store, counting the episode reads searches could make."""

    def __init__(self, inner: SQLAlchemyEpisodeStore) -> None:
        self._inner = inner
        self.reads = 0

    def get_episodes(self, namespace: str, ids: Any) -> Any:
        self.reads += 1
        return self._inner.get_episodes(namespace, ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_searches_are_served_without_reading_the_store(sqlite_url: str, namespace: str) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace) as writer:
        for i in range(30):
            writer.complete_episode(
                _run(writer, f"Fix the failing login test {i}"), TaskOutcome.success("ok")
            )
    inner = SQLAlchemyEpisodeStore(sqlite_url)
    store = _CountingStore(inner)
    try:
        with SyncSelfLearningMemory(config, namespace=namespace, store=store) as memory:  # type: ignore[arg-type]
            # episodes indexed from the store, and one completed here
            fresh = _run(memory, "Fix the failing logout test")
            memory.complete_episode(fresh, TaskOutcome.success("ok"))
            assert memory.wait_for_learning(timeout=60)  # learning marks change nothing here
            memory.search_episodes("warm up", CONTEXT)  # builds the index from the store
            store.reads = 0  # from here on only the searches run
            for query in ("Fix the failing login test 3", "Fix the failing logout test"):
                found = memory.search_episodes(query, CONTEXT, limit=5)
                assert len(found) == 5
                assert all(r.episode.steps for r in found)
            assert any(
                r.episode.episode_id == fresh
                for r in memory.search_episodes("logout test", CONTEXT, limit=5)
            )
            assert store.reads == 0
    finally:
        inner.close()


def test_async_facade_completes_inline_and_searches_on_its_worker(
    sqlite_url: str, namespace: str
) -> None:
    threads: dict[str, str] = {}

    class WhereItRuns:
        @hookimpl
        def episode_completed(self, episode: Any, namespace: str) -> None:
            threads["complete"] = threading.current_thread().name

        @hookimpl(wrapper=True)
        def rerank_episodes(self, task_description: str, context: Any, results: Any) -> Any:
            threads["search"] = threading.current_thread().name
            return (yield)

    async def main() -> None:
        config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
        async with SelfLearningMemory(config, namespace=namespace, plugins=[WhereItRuns()]) as m:
            episode_id = await m.start_episode("Fix the failing login test", CONTEXT)
            await m.complete_episode(episode_id, TaskOutcome.success("ok"))
            assert len(await m.search_episodes("login test", CONTEXT)) == 1
        threads["loop"] = threading.current_thread().name

    asyncio.run(main())
    assert threads["complete"] == threads["loop"]
    assert threads["search"].startswith("memory-core-async")


def test_async_facade_refuses_calls_after_close(sqlite_url: str, namespace: str) -> None:
    async def main() -> None:
        memory = SelfLearningMemory(MemoryConfig(database_url=sqlite_url, load_plugins=False))
        await memory.close()
        with pytest.raises(InvalidInputError, match="closed"):
            await memory.search_episodes("anything")

    asyncio.run(main())


class _HeldStore(SQLAlchemyEpisodeStore):
    """A real store whose episode listing (what a search reads to build its index) can be
    held, so a test can complete an episode while a search is in the middle of its work."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.hold = threading.Event()
        self.listing = threading.Event()
        self.release = threading.Event()

    def list_episodes(self, namespace: str, query: Any) -> Any:
        if self.hold.is_set():
            self.listing.set()
            assert self.release.wait(30), "the test never released the listing"
        return super().list_episodes(namespace, query)


def test_completing_never_waits_for_a_search_in_progress(database_url: str, namespace: str) -> None:
    """The async facade completes on the event loop: waiting there for a search running on
    the worker thread would stall every coroutine. The completed episode is indexed by the
    next search instead, and found by it."""
    store = _HeldStore(database_url)
    config = MemoryConfig(database_url=database_url, load_plugins=False)
    with (
        contextlib.closing(store),
        SyncSelfLearningMemory(config, namespace=namespace, store=store) as memory,
    ):
        episode_id = _run(memory, "Rotate the signing keys of the billing service")
        store.hold.set()
        searching = threading.Thread(target=memory.search_episodes, args=("keys",))
        searching.start()
        try:
            assert store.listing.wait(30)  # the search holds the index, mid-build
            completing = threading.Thread(
                target=memory.complete_episode, args=(episode_id, TaskOutcome.success("done"))
            )
            completing.start()
            completing.join(10)
            assert not completing.is_alive(), "completion waited for the search"
        finally:
            store.hold.clear()
            store.release.set()
            searching.join(30)
        found = memory.search_episodes("rotate the signing keys")
        assert [hit.episode.episode_id for hit in found] == [episode_id]
        memory.delete_episode(episode_id)
        assert memory.search_episodes("rotate the signing keys") == []


def test_completions_waiting_for_a_search_stay_bounded(database_url: str, namespace: str) -> None:
    """A process that completes episodes and never searches again does not keep them all
    queued for the index: past a bound, completing indexes the queue itself."""
    config = MemoryConfig(database_url=database_url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        memory.search_episodes("warm up")  # the index exists from here on
        for number in range(1_100):
            episode_id = memory.start_episode(f"Archive the ledger of day {number}", CONTEXT)
            memory.complete_episode(episode_id, TaskOutcome.success("archived"))
        waiting = memory.engine.retrieval._completed  # the queue under test
        assert 0 < len(waiting) < 1_000
        found = memory.search_episodes("archive the ledger of day 1099", limit=1)
        assert [hit.episode.episode_id for hit in found] == [episode_id]
        assert not waiting
