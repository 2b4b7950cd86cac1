"""Background pruning for a memory with retention configured (private).

One daemon thread per memory runs a time-bounded prune every ``prune_interval_seconds``,
sooner when learning pokes it (new learned episodes may have pushed the namespace over its
cap), and again shortly when a run used its whole budget. Nothing here runs on the caller's
thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from memory_core.storage.retention import PruneReport

__all__ = ["BackgroundPruner"]

logger = logging.getLogger("memory_core")

_BACKLOG_PAUSE = 0.05
"""Pause between runs while a prune is still behind (lets writers take the lock)."""
_MIN_GAP = 1.0
"""Shortest time between runs that were woken by a poke."""


class BackgroundPruner:
    """Runs ``run(deadline)`` on a daemon thread (see the module doc).

    Args:
        run: Prunes until the `time.monotonic` deadline, returns the report.
        interval: Longest time between runs.
        budget: Seconds each run may take.
        name: Thread name.
    """

    def __init__(
        self, run: Callable[[float], PruneReport], *, interval: float, budget: float, name: str
    ) -> None:
        self._run = run
        self._interval = interval
        self._budget = budget
        self._wake = threading.Event()
        self._closed = threading.Event()
        self.runs = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Ask for a run soon (at most one per second from pokes)."""
        self._wake.set()

    def _loop(self) -> None:
        wait = self._interval
        last = 0.0
        while not self._closed.is_set():
            woken = self._wake.wait(wait)
            if self._closed.is_set():
                return
            if woken:
                gap = last + min(_MIN_GAP, self._interval) - time.monotonic()
                if gap > 0 and self._closed.wait(gap):
                    return
            self._wake.clear()
            last = time.monotonic()
            wait = self._interval
            try:
                report = self._run(last + self._budget)
            except Exception:  # a background prune must never crash the process
                logger.exception("background prune failed")
                continue
            self.runs += 1
            if not report.complete:
                wait = _BACKLOG_PAUSE

    def close(self) -> None:
        """Stop the thread (a run in progress finishes its current chunk first)."""
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=30)
