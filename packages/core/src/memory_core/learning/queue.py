"""A bounded FIFO work queue served by a pool of worker threads.

Why threads rather than asyncio tasks: the engine behind both facades is synchronous, the
blocking facade has no event loop to run tasks on, and the work is short pure-Python
extraction followed by blocking database calls (SQLAlchemy and its drivers release the GIL
while they wait on I/O). A small thread pool serves both facades the same way, keeps the
learning step off the caller's thread and off any event loop, and needs no loop at
shutdown; the pool is small (2 workers by default) because the merge transactions of one
namespace are serialised by the store anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["QueueCounters", "WorkQueue"]

logger = logging.getLogger("memory_core.learning")

T = TypeVar("T")


class QueueCounters:
    """Counters of a `WorkQueue` (read under its lock through `WorkQueue.counters`)."""

    __slots__ = ("failed", "in_flight", "processed", "queued")

    def __init__(self, queued: int = 0, in_flight: int = 0, processed: int = 0, failed: int = 0):
        self.queued = queued
        self.in_flight = in_flight
        self.processed = processed
        self.failed = failed


class WorkQueue(Generic[T]):
    """Bounded FIFO of work items handled in batches by ``workers`` daemon threads.

    A worker takes every waiting item, up to ``batch_size``, and hands them to the handler
    at once. The handler returns how many of them failed (it logs those itself); a handler
    that raises is logged and all its items are counted in ``failed``. Either way the worker
    carries on with the next batch. Threads start on the first `put`.

    Args:
        handler: Called with a batch of items on a worker thread; returns the failures.
        workers: Worker threads.
        maxsize: Items that may wait before `put` refuses more.
        batch_size: Most items handed to one handler call.
        name: Thread name prefix.
        describe: Short text naming an item in log messages.
    """

    def __init__(
        self,
        handler: Callable[[list[T]], int],
        *,
        workers: int,
        maxsize: int,
        batch_size: int = 1,
        name: str = "memory-core-learning",
        describe: Callable[[T], str] = repr,
    ) -> None:
        self._handler = handler
        self._batch_size = batch_size
        self._describe = describe
        self._workers = workers
        self.maxsize = maxsize
        self._name = name
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # workers wait here for items
        self._cond = threading.Condition(self._lock)  # producers and joiners wait here
        self._threads: list[threading.Thread] = []
        self._in_flight = 0
        self._processed = 0
        self._failed = 0
        self._stopping = False

    # ------------------------------------------------------------------ state

    def counters(self) -> QueueCounters:
        """A consistent snapshot of the counters."""
        with self._cond:
            return QueueCounters(len(self._items), self._in_flight, self._processed, self._failed)

    def full(self) -> bool:
        """True when `put` would refuse an item now."""
        with self._cond:
            return len(self._items) >= self.maxsize

    # ------------------------------------------------------------- producing

    def put(self, item: T, *, force: bool = False) -> bool:
        """Queue ``item``; False (nothing queued) when full or closed, unless ``force``.

        ``force`` ignores the bound (used to re-queue a backlog found in the database).
        """
        with self._cond:
            if self._stopping or (not force and len(self._items) >= self.maxsize):
                return False
            self._items.append(item)
            self._start_workers()
            self._work.notify()
            return True

    def wait_for_room(self, timeout: float | None) -> bool:
        """Block until the queue has room; False if ``timeout`` seconds passed first."""
        with self._cond:
            return (
                self._cond.wait_for(
                    lambda: self._stopping or len(self._items) < self.maxsize, timeout
                )
                and not self._stopping
            )

    def join(self, timeout: float | None = None) -> bool:
        """Block until every queued item has been handled; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._items and self._in_flight == 0, timeout)

    def close(self, timeout: float | None) -> list[T]:
        """Drain for up to ``timeout`` seconds, then stop the workers.

        Returns the items that were still waiting (never handed to a worker). An item a
        worker is still handling when the time runs out finishes in the background.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        self.join(timeout)
        with self._cond:
            self._stopping = True
            abandoned = list(self._items)
            self._items.clear()
            self._work.notify_all()
            self._cond.notify_all()
            threads = list(self._threads)
        for thread in threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return abandoned

    # --------------------------------------------------------------- workers

    def _start_workers(self) -> None:
        while len(self._threads) < self._workers:
            thread = threading.Thread(
                target=self._run, name=f"{self._name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._work.wait_for(lambda: self._stopping or bool(self._items))
                if self._stopping:
                    return
                count = min(self._batch_size, len(self._items))
                batch = [self._items.popleft() for _ in range(count)]
                self._in_flight += count
                self._cond.notify_all()  # room for a blocked producer
            failed = count
            try:
                failed = max(0, min(count, self._handler(batch)))
            except Exception:
                logger.exception(
                    "learning failed for %s; continuing with the next item",
                    ", ".join(self._describe(item) for item in batch),
                )
            finally:
                with self._lock:
                    self._in_flight -= count
                    self._processed += count - failed
                    self._failed += failed
                    self._cond.notify_all()
