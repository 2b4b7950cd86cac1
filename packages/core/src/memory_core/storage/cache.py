"""A small thread-safe hot cache (cachetools TTL + LRU) with hit/miss counters."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

__all__ = ["HotCache"]

V = TypeVar("V")


class HotCache(Generic[V]):
    """Least-recently-used cache whose entries also expire after ``ttl`` seconds.

    The TTL bounds how long this process may serve a value that another process has since
    changed or deleted. ``maxsize=0`` disables caching (every lookup is a miss).
    """

    def __init__(self, maxsize: int, ttl: float) -> None:
        self._cache: TTLCache[Hashable, V] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl) if maxsize > 0 else None
        )
        self._lock = threading.Lock()
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

    def put(self, key: Hashable, value: V) -> None:
        """Store a value."""
        if self._cache is not None:
            with self._lock:
                self._cache[key] = value

    def invalidate(self, key: Hashable) -> None:
        """Forget one key."""
        if self._cache is not None:
            with self._lock:
                self._cache.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        if self._cache is not None:
            with self._lock:
                self._cache.clear()

    def __len__(self) -> int:
        return 0 if self._cache is None else len(self._cache)
