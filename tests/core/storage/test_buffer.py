"""The write-behind buffer: bounded flush window, size trigger, retries, order, close."""

from __future__ import annotations

import threading
from typing import cast
from uuid import UUID, uuid4

import pytest
from sqlalchemy.exc import IntegrityError

from memory_core import Episode, ExecutionStep, SQLAlchemyEpisodeStore, StorageError
from memory_core.storage import EpisodeStore, WriteBatch
from memory_core.storage.buffer import WriteBehindBuffer


class RecordingStore:
    """Records batches; can fail the next N writes; signals each successful write.

    Batches touching an episode in ``refused`` fail with an integrity error, as a real
    store does for steps of an episode another process deleted.
    """

    def __init__(self) -> None:
        self.batches: list[WriteBatch] = []
        self.fail_next = 0
        self.refused: set[UUID] = set()
        self.written = threading.Event()
        self.lock = threading.Lock()

    def write(self, namespace: str, batch: WriteBatch) -> None:
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                raise StorageError("database is down")
            touched = {e.episode_id for e in batch.new_episodes} | {i for i, _ in batch.steps}
            if touched & self.refused:
                try:
                    raise IntegrityError("INSERT", {}, Exception("FOREIGN KEY constraint failed"))
                except IntegrityError as exc:
                    raise StorageError("database operation failed") from exc
            self.batches.append(batch)
        self.written.set()

    @property
    def steps(self) -> list[int]:
        return [s.step_number or 0 for b in self.batches for _, s in b.steps]


def _buffer(
    store: RecordingStore, interval: float = 60.0, max_pending: int = 1000
) -> WriteBehindBuffer:
    return WriteBehindBuffer(
        cast(EpisodeStore, store), "ns", interval=interval, max_pending=max_pending
    )


def _step(n: int) -> ExecutionStep:
    return ExecutionStep(step_number=n, tool="t", action="a")


def test_background_thread_flushes_within_the_interval() -> None:
    store = RecordingStore()
    buffer = _buffer(store, interval=0.01)
    episode = Episode(task_description="x")
    buffer.add_episode(episode)
    buffer.add_step(episode.episode_id, _step(1))
    assert store.written.wait(timeout=30), "the background flush never ran"
    buffer.close()
    assert [e.episode_id for b in store.batches for e in b.new_episodes] == [episode.episode_id]
    assert store.steps == [1]
    assert buffer.pending == 0


def test_reaching_max_pending_flushes_at_once() -> None:
    store = RecordingStore()
    buffer = _buffer(store, interval=3600, max_pending=5)  # the timer alone would never fire
    eid = uuid4()
    for n in range(1, 6):
        buffer.add_step(eid, _step(n))
    assert store.written.wait(timeout=30), "a full buffer was not flushed"
    assert store.steps == [1, 2, 3, 4, 5]
    buffer.close()


def test_explicit_flush_and_close() -> None:
    store = RecordingStore()
    buffer = _buffer(store)
    buffer.flush()  # nothing pending: no write at all
    assert store.batches == []
    eid = uuid4()
    buffer.add_step(eid, _step(1))
    assert buffer.pending == 1
    buffer.flush()
    assert store.steps == [1]
    buffer.add_step(eid, _step(2))
    buffer.close()  # flushes what is left
    assert store.steps == [1, 2]
    assert buffer.flushes == 2


def test_a_failed_flush_keeps_the_writes_in_order_and_retries() -> None:
    store = RecordingStore()
    buffer = _buffer(store)
    eid = uuid4()
    buffer.add_step(eid, _step(1))
    buffer.add_step(eid, _step(2))
    store.fail_next = 1
    with pytest.raises(StorageError):
        buffer.flush()
    assert buffer.pending == 2
    assert buffer.failed_flushes == 1
    buffer.add_step(eid, _step(3))  # arrives while the failed batch waits
    buffer.flush()
    assert store.steps == [1, 2, 3]
    assert buffer.pending == 0
    buffer.close()


def test_concurrent_producers_lose_nothing() -> None:
    store = RecordingStore()
    buffer = _buffer(store, interval=0.001, max_pending=7)
    ids = [uuid4() for _ in range(4)]

    def produce(eid: UUID) -> None:
        for n in range(1, 501):
            buffer.add_step(eid, _step(n))

    threads = [threading.Thread(target=produce, args=(eid,)) for eid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    buffer.close()
    for eid in ids:
        numbers = [s.step_number for b in store.batches for e, s in b.steps if e == eid]
        assert numbers == list(range(1, 501))  # all there, in order


def test_with_a_real_store(sqlite_url: str) -> None:
    store = SQLAlchemyEpisodeStore(sqlite_url)
    buffer = WriteBehindBuffer(store, "ns", interval=3600, max_pending=1000)
    episode = Episode(task_description="buffered")
    buffer.add_episode(episode)
    for n in range(1, 4):
        buffer.add_step(episode.episode_id, _step(n))
    assert store.get_episode("ns", episode.episode_id) is None  # not yet durable
    buffer.close()
    stored = store.get_episode("ns", episode.episode_id)
    assert stored is not None
    assert [s.step_number for s in stored.steps] == [1, 2, 3]
    store.close()


def test_writes_the_database_refuses_for_good_do_not_block_the_rest() -> None:
    store = RecordingStore()
    buffer = _buffer(store)
    gone, alive = uuid4(), uuid4()
    store.refused.add(gone)
    buffer.add_step(gone, _step(1))
    buffer.add_step(alive, _step(1))
    buffer.add_step(gone, _step(2))
    buffer.add_step(alive, _step(2))
    buffer.flush()  # no error: the refused episode's writes are dropped, the rest stored
    assert [(e, s.step_number) for b in store.batches for e, s in b.steps] == [
        (alive, 1),
        (alive, 2),
    ]
    assert buffer.dropped == 2
    assert buffer.pending == 0
    buffer.add_step(alive, _step(3))
    buffer.close()
    assert store.steps[-1] == 3


def test_a_transient_failure_while_isolating_keeps_the_rest_pending() -> None:
    store = RecordingStore()
    buffer = _buffer(store)
    gone, first, second = uuid4(), uuid4(), uuid4()
    store.refused.add(gone)
    for eid in (gone, first, second):
        buffer.add_step(eid, _step(1))
    original = store.write
    calls = 0

    def flaky(namespace: str, batch: WriteBatch) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # whole batch, then "gone" (refused), then "first": database down
            raise StorageError("database is down")
        original(namespace, batch)

    store.write = flaky  # type: ignore[method-assign]
    with pytest.raises(StorageError, match="down"):
        buffer.flush()
    assert buffer.pending == 2  # first and second wait for the retry
    buffer.flush()
    assert sorted(str(e) for b in store.batches for e, _ in b.steps) == sorted(
        [str(first), str(second)]
    )
    assert buffer.dropped == 1
    buffer.close()


def test_producers_flush_themselves_when_far_behind() -> None:
    from memory_core.storage.buffer import BACKLOG_FACTOR

    store = RecordingStore()
    store.fail_next = 1_000_000  # the background flusher can never catch up
    buffer = _buffer(store, interval=3600.0, max_pending=5)
    episode_id = uuid4()
    for n in range(1, 5 * BACKLOG_FACTOR):
        buffer.add_step(episode_id, _step(n))
    assert buffer.backpressure_flushes == 0
    store.fail_next = 0
    buffer.add_step(episode_id, _step(5 * BACKLOG_FACTOR))  # hits the backlog bound
    assert buffer.backpressure_flushes == 1
    assert buffer.pending == 0
    assert store.steps == list(range(1, 5 * BACKLOG_FACTOR + 1))
    buffer.close()


def test_failed_backpressure_flush_keeps_every_write() -> None:
    from memory_core.storage.buffer import BACKLOG_FACTOR

    store = RecordingStore()
    store.fail_next = 1_000_000
    buffer = _buffer(store, interval=3600.0, max_pending=2)
    episode_id = uuid4()
    for n in range(1, 2 * BACKLOG_FACTOR + 3):
        buffer.add_step(episode_id, _step(n))  # never raises into the producer
    assert buffer.backpressure_flushes >= 1
    assert buffer.pending == 2 * BACKLOG_FACTOR + 2
    store.fail_next = 0
    buffer.close()
    assert store.steps == list(range(1, 2 * BACKLOG_FACTOR + 3))
