"""The in-memory merge-candidate index of one namespace, kept in step with the database.

Write-time merging compares every new pattern with the stored patterns of its kind and
domain, and every heuristic candidate with the stored heuristics. Reading and parsing them
all for each episode cost more than everything else in learning, so a learner keeps them in
memory: patterns grouped by (kind, domain) and looked up by similarity key, heuristics by
merge key. Groups are loaded on first use.

The index is only read and changed inside a learning transaction, after the namespace lock
is taken (`LearningTransaction.lock`), so no other writer of patterns or heuristics runs at
the same time. On entry it catches up with what others wrote since it was last in step: the
change feed lists the ids they touched, and only those rows are read again. After its own
writes it records the feed position; if the transaction fails, the index is dropped and
reloaded on next use.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from cachetools import LRUCache

from memory_core.learning.heuristics import heuristic_key
from memory_core.learning.merging import best_candidate
from memory_core.learning.similarity import (
    Shape,
    pattern_shape,
    pattern_similarity,
    shape_bound,
    similarity_key,
)
from memory_core.models import Heuristic, Pattern, PatternKind
from memory_core.storage.base import LearningTransaction

__all__ = ["CandidateIndex", "HeuristicSet", "PatternGroup"]

_MAX_CATCH_UP = 5_000
"""Changes by others beyond which the index is reloaded instead of patched."""

_PARSED_HEURISTICS = 512
"""Heuristics of a namespace kept parsed (the most recently used)."""

GroupKey = tuple[PatternKind, str | None]


class PatternGroup:
    """The stored patterns of one kind and domain, by id and by similarity key.

    Each stored pattern's `pattern_shape` is kept too, so that a pattern is compared in
    full only when its shape can reach the merge threshold.
    """

    __slots__ = ("_by_key", "_keys", "_shapes", "patterns")

    def __init__(self, patterns: Iterable[Pattern] = ()) -> None:
        self.patterns: dict[UUID, Pattern] = {}
        self._keys: dict[UUID, str] = {}
        self._shapes: dict[UUID, Shape] = {}
        self._by_key: dict[str, set[UUID]] = {}
        for pattern in patterns:
            self.put(pattern)

    def put(self, pattern: Pattern, key: str | None = None) -> None:
        """Add a pattern or replace the stored version of it.

        ``key`` is its similarity key when the caller knows it already.
        """
        pattern_id = pattern.pattern_id
        if key is None:
            key = similarity_key(pattern)
        if self._keys.get(pattern_id) == key:  # a new version: same key, so same shape
            self.patterns[pattern_id] = pattern
            return
        self.remove(pattern_id)
        self.patterns[pattern_id] = pattern
        self._keys[pattern_id] = key
        self._shapes[pattern_id] = pattern_shape(pattern)
        self._by_key.setdefault(key, set()).add(pattern_id)

    def remove(self, pattern_id: UUID) -> None:
        """Forget a pattern (no-op when absent)."""
        if self.patterns.pop(pattern_id, None) is None:
            return
        key = self._keys.pop(pattern_id)
        del self._shapes[pattern_id]
        same = self._by_key[key]
        same.discard(pattern_id)
        if not same:
            del self._by_key[key]

    def key_of(self, pattern_id: UUID) -> str | None:
        """The similarity key of a stored pattern (None when it is not in the group)."""
        return self._keys.get(pattern_id)

    def find_match(self, new: Pattern, threshold: float, key: str | None = None) -> Pattern | None:
        """The stored pattern ``new`` merges into, as `memory_core.learning.merging.find_match`.

        An equal similarity key (``key``, computed when not given) is a dictionary lookup;
        only a pattern without one is compared with the patterns of the group, and only
        with those whose `shape_bound` can reach ``threshold``.
        """
        same = self._by_key.get(similarity_key(new) if key is None else key)
        if same:
            return best_candidate([self.patterns[i] for i in same])
        kind, shape = new.kind, pattern_shape(new)
        scored: list[tuple[float, Pattern]] = []
        for candidate_id, candidate_shape in self._shapes.items():
            bound = shape_bound(kind, shape, candidate_shape, keys_differ=True, floor=threshold)
            if bound < threshold:
                continue
            candidate = self.patterns[candidate_id]
            if candidate.kind != kind:
                continue
            score = pattern_similarity(new, candidate, floor=threshold)
            if score >= threshold:
                scored.append((score, candidate))
        if not scored:
            return None
        best = max(s for s, _ in scored)
        return best_candidate([c for s, c in scored if s == best])


class HeuristicSet:
    """The stored heuristics of a namespace, by id and by merge key.

    Held as JSON, the most recently used ones parsed: a namespace's heuristics as objects
    would be many small objects the garbage collector walks through on every full
    collection, pausing every thread of the process.
    """

    __slots__ = ("_by_key", "_data", "_keys", "_parsed")

    def __init__(self, heuristics: Iterable[Heuristic] = ()) -> None:
        self._data: dict[UUID, str] = {}
        self._parsed: LRUCache[UUID, Heuristic] = LRUCache(_PARSED_HEURISTICS)
        self._keys: dict[UUID, str] = {}
        self._by_key: dict[str, dict[UUID, None]] = {}  # insertion order: the first one wins
        for heuristic in heuristics:
            self.put(heuristic)

    def get(self, heuristic_id: UUID) -> Heuristic | None:
        """A stored heuristic by id, or None."""
        found = self._parsed.get(heuristic_id)
        if found is None:
            data = self._data.get(heuristic_id)
            if data is None:
                return None
            found = self._parsed[heuristic_id] = Heuristic.model_validate_json(data)
        return found

    def put(self, heuristic: Heuristic, key: str | None = None) -> str:
        """Add a heuristic or replace the stored version of it; return its JSON.

        ``key`` is its merge key when the caller knows it already.
        """
        heuristic_id = heuristic.heuristic_id
        if key is None:
            key = heuristic_key(heuristic)
        if self._keys.get(heuristic_id) != key:
            self.remove(heuristic_id)
            self._keys[heuristic_id] = key
            self._by_key.setdefault(key, {})[heuristic_id] = None
        data = self._data[heuristic_id] = heuristic.model_dump_json()
        self._parsed[heuristic_id] = heuristic
        return data

    def remove(self, heuristic_id: UUID) -> None:
        """Forget a heuristic (no-op when absent)."""
        if self._data.pop(heuristic_id, None) is None:
            return
        self._parsed.pop(heuristic_id, None)
        key = self._keys.pop(heuristic_id)
        same = self._by_key[key]
        del same[heuristic_id]
        if not same:
            del self._by_key[key]

    def match(self, new: Heuristic, key: str | None = None) -> Heuristic | None:
        """The stored heuristic with ``new``'s merge key (``key`` when known), or None."""
        same = self._by_key.get(heuristic_key(new) if key is None else key)
        return None if not same else self.get(next(iter(same)))


class CandidateIndex:
    """Patterns and heuristics of one namespace held for merging (see the module docstring)."""

    def __init__(self) -> None:
        self._groups: dict[GroupKey, PatternGroup] = {}
        self._group_of: dict[UUID, GroupKey] = {}
        self._heuristics: HeuristicSet | None = None
        self._seq: int | None = None

    def reset(self) -> None:
        """Forget everything; the next transaction reloads what it needs."""
        self._groups.clear()
        self._group_of.clear()
        self._heuristics = None
        self._seq = None

    def sync(self, tx: LearningTransaction) -> None:
        """Catch up with what other writers changed (call once the namespace lock is held)."""
        if self._seq is None:
            self._seq = tx.last_change_seq()
            return
        changes = tx.pattern_changes_since(self._seq, _MAX_CATCH_UP)
        if len(changes) >= _MAX_CATCH_UP or any(c.entity == "namespace" for c in changes):
            # too far behind to replay, or the namespace was deleted meanwhile
            self.reset()
            self._seq = tx.last_change_seq()
            return
        if not changes:
            return
        self._seq = changes[-1].seq
        pattern_ids = list(dict.fromkeys(c.entity_id for c in changes if c.entity == "pattern"))
        if pattern_ids and self._groups:
            fresh = {p.pattern_id: p for p in tx.get_patterns(pattern_ids)}
            for pattern_id in pattern_ids:
                self._drop(pattern_id)
                pattern = fresh.get(pattern_id)
                if pattern is not None:
                    group_key = (pattern.kind, pattern.domain)
                    group = self._groups.get(group_key)
                    if group is not None:
                        group.put(pattern)
                        self._group_of[pattern_id] = group_key
        heuristic_ids = list(dict.fromkeys(c.entity_id for c in changes if c.entity == "heuristic"))
        if heuristic_ids and self._heuristics is not None:
            fresh_h = {h.heuristic_id: h for h in tx.heuristics(heuristic_ids)}
            for heuristic_id in heuristic_ids:
                self._heuristics.remove(heuristic_id)
                if heuristic_id in fresh_h:
                    self._heuristics.put(fresh_h[heuristic_id])

    def committed(self, seq: int) -> None:
        """Record the change-feed position reached by a committed transaction."""
        self._seq = seq

    def group(self, tx: LearningTransaction, kind: PatternKind, domain: str | None) -> PatternGroup:
        """The group of one kind and domain, loaded through ``tx`` on first use."""
        group_key = (kind, domain)
        group = self._groups.get(group_key)
        if group is None:
            group = PatternGroup(tx.patterns_of(kind, domain))
            self._groups[group_key] = group
            for pattern_id in group.patterns:
                self._group_of[pattern_id] = group_key
        return group

    def put(self, pattern: Pattern, key: str | None = None) -> None:
        """Add or replace a pattern of a loaded group (after ``group`` returned it)."""
        group_key = (pattern.kind, pattern.domain)
        group = self._groups[group_key]
        group.put(pattern, group.key_of(pattern.pattern_id) if key is None else key)
        self._group_of[pattern.pattern_id] = group_key

    def pattern(self, tx: LearningTransaction, pattern_id: UUID) -> Pattern | None:
        """A stored pattern by id (its group is loaded if it was not), or None."""
        group_key = self._group_of.get(pattern_id)
        if group_key is None:
            found = tx.get_patterns([pattern_id])
            if not found:
                return None
            group_key = (found[0].kind, found[0].domain)
            self.group(tx, *group_key)
            if pattern_id not in self._groups[group_key].patterns:
                return None
        return self._groups[group_key].patterns[pattern_id]

    def heuristics(self, tx: LearningTransaction) -> HeuristicSet:
        """The namespace's heuristics, loaded through ``tx`` on first use."""
        if self._heuristics is None:
            self._heuristics = HeuristicSet(tx.heuristics())
        return self._heuristics

    def _drop(self, pattern_id: UUID) -> None:
        group_key = self._group_of.pop(pattern_id, None)
        if group_key is not None:
            self._groups[group_key].remove(pattern_id)
