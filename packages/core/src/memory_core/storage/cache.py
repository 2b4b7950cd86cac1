"""A small thread-safe hot cache (cachetools TTL + LRU) with hit/miss counters."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

__all__ = ["HotCache"]

V = TypeVar("V")


class HotCache(Generic[V]):
    """Least-recently-used cache whose entries also expire after ``ttl`` seconds.

    The TTL bounds how long this process may serve a value that another process has since
    changed or deleted. ``maxsize=0`` disables caching (every lookup is a miss).

    Args:
        maxsize: Most entries kept; the least recently used go first.
        ttl: Seconds an entry is served after it was stored.
        timer: Clock the TTL is measured with (tests pass a fake one).
    """

    def __init__(
        self, maxsize: int, ttl: float, *, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._cache: TTLCache[Hashable, V] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl, timer=timer) if maxsize > 0 else None
        )
        self._lock = threading.Lock()
        self._epoch = 0  # bumped by every invalidation; see `token`
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        """Return the cached value or None (counting a hit or a miss)."""
        with self._lock:
            value = None if self._cache is None else self._cache.get(key)
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
            return value

    def token(self) -> int:
        """Take before reading a value from the store; pass it to `put` as ``since``."""
        with self._lock:
            return self._epoch

    def put(self, key: Hashable, value: V, *, since: int | None = None) -> None:
        """Store a value.

        Args:
            key: The cache key.
            value: The value.
            since: A `token` taken before ``value`` was read. If anything was invalidated
                since, the value may already be stale and is not stored.
        """
        if self._cache is not None:
            with self._lock:
                if since is None or since == self._epoch:
                    self._cache[key] = value

    def invalidate(self, key: Hashable) -> None:
        """Forget one key."""
        with self._lock:
            self._epoch += 1
            if self._cache is not None:
                self._cache.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._epoch += 1
            if self._cache is not None:
                self._cache.clear()

    def __len__(self) -> int:
        return 0 if self._cache is None else len(self._cache)
