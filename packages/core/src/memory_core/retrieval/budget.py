"""One process-wide memory budget for the in-memory episode indexes of all namespaces.

A process serving many tenants opens one memory (and one index) per namespace it serves.
Each index reports its size after a search; when the sizes together pass the budget, the
least recently searched indexes are dropped (their owner rebuilds one on its next search),
so memory stays bounded however many namespaces the process has touched.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Protocol

__all__ = ["IndexBudget", "IndexOwner", "index_budget"]


class IndexOwner(Protocol):
    """Something holding an index it can drop (and rebuild when needed)."""

    def drop_index(self) -> bool:
        """Release the index unless it is in use; True if released."""
        ...


class IndexBudget:
    """Sizes of the live indexes, least recently used first (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sizes: OrderedDict[int, tuple[weakref.ref[IndexOwner], int]] = OrderedDict()

    @property
    def used(self) -> int:
        """Bytes of the indexes currently counted."""
        with self._lock:
            return sum(size for _, size in self._sizes.values())

    def charge(self, owner: IndexOwner, size: int, budget: int) -> int:
        """Record ``owner``'s index size as most recent; drop others past ``budget``.

        Args:
            owner: The index's owner (held weakly).
            size: Its index's size in bytes.
            budget: Bytes all indexes may use together (0: unlimited).

        Returns:
            How many indexes were dropped.
        """
        key = id(owner)
        with self._lock:
            self._sizes.pop(key, None)
            self._sizes[key] = (weakref.ref(owner), size)
            if budget <= 0:
                return 0
            total = sum(s for _, s in self._sizes.values())
            victims: list[tuple[int, IndexOwner | None]] = []
            for other, (ref, other_size) in self._sizes.items():
                if total <= budget:
                    break
                if other == key:
                    continue
                victims.append((other, ref()))
                total -= other_size
        dropped = 0
        for other, victim in victims:  # outside our lock: dropping takes the owner's lock
            if victim is None or victim.drop_index():
                self.release(other)
                dropped += victim is not None
        return dropped

    def release(self, owner: IndexOwner | int) -> None:
        """Stop counting an owner's index (dropped or closed)."""
        with self._lock:
            self._sizes.pop(owner if isinstance(owner, int) else id(owner), None)


index_budget = IndexBudget()
"""The budget shared by every memory of this process."""
