"""Write-behind batching of new episodes, logged steps and completed episodes.

Starting an episode, logging a step or completing an episode only appends to this buffer
(microseconds); a background thread writes the buffer to the store at least every
``interval`` seconds, so a crash of the process loses at most that window. ``flush()`` and
``close()`` write at once. Completed episodes stay readable from the buffer
(`WriteBehindBuffer.completing`) until they are durable, and are then handed to
``on_durable`` (the memory queues them for learning, which needs them stored).
A failed flush keeps the pending writes and retries them. The one exception: writes the
database refuses for good (an integrity error: the episode was deleted by another process,
or another process stored the same step number) are logged and dropped, episode by episode,
so that one of them cannot block every later write.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from uuid import UUID

from sqlalchemy.exc import IntegrityError

from memory_core.errors import StorageError
from memory_core.models import Episode, ExecutionStep
from memory_core.storage.base import EpisodeStore, WriteBatch

__all__ = ["BACKLOG_FACTOR", "WriteBehindBuffer"]

BACKLOG_FACTOR = 10
"""Full batches that may wait before producers start flushing themselves."""

logger = logging.getLogger("memory_core.storage")


class WriteBehindBuffer:
    """Batches episode inserts and step appends for one namespace.

    Args:
        store: Where batches are written.
        namespace: The tenant the writes belong to.
        interval: Longest time (seconds) a write waits in memory.
        max_pending: Pending writes that trigger an immediate flush.
        on_durable: Called (on the flushing thread, in completion order) with the completed
            episodes a flush has just made durable; what it raises is logged.
    """

    def __init__(
        self,
        store: EpisodeStore,
        namespace: str,
        *,
        interval: float,
        max_pending: int,
        on_durable: Callable[[Sequence[Episode]], None] | None = None,
    ) -> None:
        self._store = store
        self._on_durable = on_durable
        self._completing: dict[UUID, Episode] = {}  # queued completions, until durable
        self._namespace = namespace
        self._interval = interval
        self._max_pending = max_pending
        self._pending = WriteBatch()
        self._lock = threading.Lock()  # guards _pending
        self._flush_lock = threading.Lock()  # one flush at a time, in order
        self._wake = threading.Event()
        self._closed = threading.Event()
        self.flushes = 0
        self.backpressure_flushes = 0
        self.failed_flushes = 0
        self.dropped = 0
        """Writes dropped because the database refused them for good (see the module doc)."""
        self._thread = threading.Thread(
            target=self._run, name=f"memory-core-flush-{namespace}", daemon=True
        )
        self._thread.start()

    def add_episode(self, episode: Episode) -> None:
        """Queue a new (in-flight) episode for insertion."""
        with self._lock:
            self._pending.new_episodes.append(episode)
            pending = len(self._pending)
        self._pressure(pending)

    def add_step(self, episode_id: UUID, step: ExecutionStep) -> None:
        """Queue a step for insertion."""
        with self._lock:
            self._pending.steps.append((episode_id, step))
            pending = len(self._pending)
        self._pressure(pending)

    def add_completed(self, episode: Episode) -> None:
        """Queue a completed episode's final state; readable through `completing` at once."""
        with self._lock:
            self._pending.completed.append(episode)
            self._completing[episode.episode_id] = episode
            pending = len(self._pending)
        self._pressure(pending)

    @property
    def completions_pending(self) -> int:
        """Completed episodes waiting to be written."""
        with self._lock:
            return len(self._completing)

    def completing(self, episode_id: UUID) -> Episode | None:
        """The completed episode if its final state is still waiting to be written, else None.

        Not a copy: callers must not change it.
        """
        with self._lock:
            return self._completing.get(episode_id)

    def _pressure(self, pending: int) -> None:
        """Wake the flusher when a batch is full; make the producer help when far behind.

        Past ``BACKLOG_FACTOR`` full batches the caller flushes itself, which bounds both
        the memory held and how long a write can wait to become durable, even when steps
        arrive faster than the database stores them.
        """
        if pending < self._max_pending:
            return
        self._wake.set()
        if pending >= self._max_pending * BACKLOG_FACTOR:
            self.backpressure_flushes += 1
            try:
                self.flush()
            except Exception:  # kept pending and retried; the write itself was accepted
                logger.exception("flush under backpressure failed; will retry")

    @property
    def pending(self) -> int:
        """Writes waiting to be flushed."""
        with self._lock:
            return len(self._pending)

    def flush(self, *, completed: Episode | None = None) -> None:
        """Write everything pending now, plus ``completed`` in the same transaction.

        Completing an episode this way costs one transaction instead of two. If the write
        fails, ``completed`` is not stored and the pending writes stay pending. Completed
        episodes taken from the buffer are handed to ``on_durable`` once written
        (``completed`` is not: its caller goes on with it).

        Raises:
            StorageError: If the store fails; the pending writes are kept and retried.
        """
        durable: list[Episode] = []
        try:
            with self._flush_lock:
                with self._lock:
                    batch, self._pending = self._pending, WriteBatch()
                if not batch and completed is None:
                    return
                combined = batch
                if completed is not None:
                    combined = WriteBatch(
                        new_episodes=batch.new_episodes,
                        steps=batch.steps,
                        completed=[*batch.completed, completed],
                    )
                try:
                    self._store.write(self._namespace, combined)
                except StorageError as exc:
                    if not _refused(exc):
                        self._requeue(batch)
                        raise
                    self._write_each_episode(batch, durable)
                    if completed is not None:
                        self._store.write(self._namespace, WriteBatch(completed=[completed]))
                except BaseException:
                    self._requeue(batch)
                    raise
                else:
                    durable = batch.completed
                self.flushes += 1
        finally:
            # outside the flush lock: the handler may take other locks (learning inline)
            self._durable(durable)

    def _durable(self, episodes: Sequence[Episode]) -> None:
        """Stop serving ``episodes`` from the buffer and hand them to ``on_durable``."""
        if not episodes:
            return
        with self._lock:
            for episode in episodes:
                self._completing.pop(episode.episode_id, None)
        if self._on_durable is not None:
            try:
                self._on_durable(episodes)
            except Exception:
                logger.exception("handling %d durable completed episode(s) failed", len(episodes))

    def _requeue(self, batch: WriteBatch) -> None:
        """Put ``batch`` back in front of what is pending, keeping order."""
        with self._lock:
            batch.new_episodes.extend(self._pending.new_episodes)
            batch.steps.extend(self._pending.steps)
            batch.completed.extend(self._pending.completed)
            self._pending = batch
        self.failed_flushes += 1

    def _write_each_episode(self, batch: WriteBatch, durable: list[Episode]) -> None:
        """Write the batch one episode at a time, dropping the groups the database refuses.

        The completed episodes written are appended to ``durable``.
        """
        groups: dict[UUID, WriteBatch] = {}
        for episode in batch.new_episodes:
            groups.setdefault(episode.episode_id, WriteBatch()).new_episodes.append(episode)
        for episode_id, step in batch.steps:
            groups.setdefault(episode_id, WriteBatch()).steps.append((episode_id, step))
        for episode in batch.completed:
            groups.setdefault(episode.episode_id, WriteBatch()).completed.append(episode)
        remaining = list(groups.items())
        while remaining:
            episode_id, group = remaining[0]
            try:
                self._store.write(self._namespace, group)
                durable.extend(group.completed)
            except StorageError as exc:
                if not _refused(exc):
                    rest = WriteBatch()
                    for _, left in remaining:
                        rest.new_episodes.extend(left.new_episodes)
                        rest.steps.extend(left.steps)
                        rest.completed.extend(left.completed)
                    self._requeue(rest)
                    raise
                self.dropped += len(group)
                with self._lock:
                    for episode in group.completed:
                        self._completing.pop(episode.episode_id, None)
                logger.error(
                    "dropped %d write(s) of episode %s in namespace %r that the database "
                    "refuses (%s); was the episode deleted, or logged to by another process?",
                    len(group),
                    episode_id,
                    self._namespace,
                    exc.__cause__,
                )
            remaining.pop(0)

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                logger.exception("background flush failed; will retry")

    def close(self) -> None:
        """Stop the background thread and flush what is pending."""
        self._closed.set()
        self._wake.set()
        self._thread.join()
        self.flush()


def _refused(exc: StorageError) -> bool:
    """True when the database rejected the data itself (retrying cannot help)."""
    return isinstance(exc.__cause__, IntegrityError)
