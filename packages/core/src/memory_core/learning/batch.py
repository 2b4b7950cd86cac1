"""Learning many episodes in one transaction: merges, links, effectiveness and learned marks.

`BatchLearner.learn` does for a batch what `LearningService` used to do episode by episode
with one transaction per step, with the same rules: each extracted pattern merges into the
stored pattern with its similarity key or its nearest duplicate (`PatternMerger`), same-key
heuristics merge (`HeuristicMerger`), a pattern or heuristic already linked to an episode is
never merged into again for it, a failed episode only counts against heuristics that existed
before it ended, and an episode's result counts as an application of the patterns it
retrieved the first time it is learned. Episodes are handled in order, so a batch ends in the
same state as learning its episodes one after the other.

Everything the batch writes (patterns and heuristics once each, however many episodes merged
into them, links, learned marks) goes to the database in one `LearningTransaction.write` at
the end, and candidates come from the namespace's `CandidateIndex` instead of being read and
parsed again for every episode.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from memory_core._priority import callers
from memory_core.learning.candidates import CandidateIndex
from memory_core.learning.extractors import outcome_weight
from memory_core.learning.heuristics import HeuristicMerger, heuristic_key
from memory_core.learning.merging import PatternMerger
from memory_core.learning.similarity import similarity_key
from memory_core.models import Episode, Heuristic, Pattern
from memory_core.storage.base import LearnedEpisode, LearningTransaction, LearningWrites

__all__ = ["BatchLearner", "LearnItem", "LearnedItem", "Pause", "Retrieved"]

_SLICE_SECONDS = 0.001
"""Longest stretch of learning between two chances for other threads to run."""


@dataclass(slots=True)
class LearnItem:
    """One episode to learn, with what was extracted from it before the transaction.

    Attributes:
        episode: The completed episode.
        patterns: Its extracted patterns.
        heuristics: Its heuristic candidates.
        first_time: False when it was learned before (its result is then not counted again
            as an application of the patterns it retrieved).
    """

    episode: Episode
    patterns: list[Pattern]
    heuristics: list[Heuristic]
    first_time: bool = True


@dataclass(slots=True)
class LearnedItem:
    """What learning one episode stored (returned once the batch is written)."""

    episode: Episode
    patterns: list[Pattern]
    """The stored version of each extracted pattern, in extraction order."""
    heuristics: list[Heuristic]
    applied: list[UUID] = field(default_factory=list)
    """Retrieved patterns whose application was counted for this episode."""
    first_time: bool = True


Retrieved = Callable[[Episode], tuple[list[UUID], Callable[[Pattern], Pattern]]]
"""Given an episode learned for the first time: the retrieved pattern ids to count an
application for, and the update recording it."""


class Pause:
    """Gives other threads the interpreter between episodes, about every millisecond.

    Only when there are other threads: yielding costs a system call. A thread waiting for
    the interpreter otherwise waits for the switch interval (5 ms) to force a hand-over;
    with 1 ms slices a caller of the memory waits about a tenth as long at the median as
    with 2 ms slices, for a few per cent of learning throughput while it waits. With
    ``give_way``, it also waits (briefly) while a caller's search runs
    (`memory_core._priority`).
    """

    __slots__ = ("_give_way", "_last")

    def __init__(self, *, give_way: bool = False) -> None:
        self._last = time.perf_counter()
        self._give_way = give_way

    def __call__(self) -> None:
        """Yield the interpreter if the current slice is used up and another thread exists."""
        if self._give_way and callers.busy:
            callers.give_way()
            self._last = time.perf_counter()
            return
        now = time.perf_counter()
        if now - self._last >= _SLICE_SECONDS:
            if threading.active_count() > 1:
                time.sleep(0)
            self._last = time.perf_counter()


class _Staged:
    """Rows written by the batch, each once in its final state."""

    def __init__(self) -> None:
        self.new_patterns: dict[UUID, Pattern] = {}
        self.patterns: dict[UUID, Pattern] = {}
        self.new_heuristics: dict[UUID, Heuristic] = {}
        self.heuristics: dict[UUID, Heuristic] = {}
        self.writes = LearningWrites()

    def pattern(self, pattern: Pattern, *, new: bool = False) -> None:
        if new or pattern.pattern_id in self.new_patterns:
            self.new_patterns[pattern.pattern_id] = pattern
        else:
            self.patterns[pattern.pattern_id] = pattern

    def heuristic(self, heuristic: Heuristic, *, new: bool = False) -> None:
        if new or heuristic.heuristic_id in self.new_heuristics:
            self.new_heuristics[heuristic.heuristic_id] = heuristic
        else:
            self.heuristics[heuristic.heuristic_id] = heuristic

    def final(self) -> LearningWrites:
        writes = self.writes
        writes.new_patterns = list(self.new_patterns.values())
        writes.changed_patterns = list(self.patterns.values())
        writes.new_heuristics = list(self.new_heuristics.values())
        writes.changed_heuristics = list(self.heuristics.values())
        return writes


class BatchLearner:
    """Learns batches of episodes of one namespace against its `CandidateIndex`.

    Not thread-safe: the caller runs one batch at a time (`LearningService` holds a lock).

    Args:
        merge_threshold: Similarity at which near-duplicate patterns merge.
    """

    def __init__(self, merge_threshold: float) -> None:
        self.merge_threshold = merge_threshold
        self.index = CandidateIndex()
        self._pending_seq: int | None = None

    def learn(
        self, tx: LearningTransaction, items: Sequence[LearnItem], retrieved: Retrieved
    ) -> list[LearnedItem]:
        """Learn ``items`` in order inside ``tx`` and write the results through it.

        Episodes another learner holds (PostgreSQL row claims) or that no longer exist are
        left out of the result. Call `committed` once ``tx`` has committed, or `failed` if it
        did not.
        """
        states = tx.episode_states([item.episode.episode_id for item in items])
        tx.lock()
        index = self.index
        index.sync(tx)
        todo: list[LearnItem] = []
        seen: set[UUID] = set()
        for item in items:
            episode_id = item.episode.episode_id
            if episode_id in states and episode_id not in seen:
                seen.add(episode_id)
                todo.append(item)
        pattern_links, heuristic_links = tx.links([item.episode.episode_id for item in todo])
        linked_patterns: dict[UUID, set[UUID]] = {}
        for pattern_id, episode_id in pattern_links:
            linked_patterns.setdefault(episode_id, set()).add(pattern_id)
        linked_heuristics: dict[UUID, set[UUID]] = {}
        for heuristic_id, episode_id in heuristic_links:
            linked_heuristics.setdefault(episode_id, set()).add(heuristic_id)
        staged = _Staged()
        out: list[LearnedItem] = []
        pause = Pause()
        for item in todo:
            pause()
            episode_id = item.episode.episode_id
            state = states[episode_id]
            first_time = item.first_time and not state.learned
            stored = self._merge_patterns(tx, item, linked_patterns.get(episode_id, set()), staged)
            heuristics = self._merge_heuristics(
                tx, item, linked_heuristics.get(episode_id, set()), staged
            )
            applied = self._apply(tx, item.episode, retrieved, staged) if first_time else []
            pattern_ids = list(dict.fromkeys(p.pattern_id for p in stored))
            heuristic_ids = list(dict.fromkeys(h.heuristic_id for h in heuristics))
            staged.writes.learned.append(
                LearnedEpisode(episode_id, pattern_ids, heuristic_ids, state.data)
            )
            out.append(LearnedItem(item.episode, stored, heuristics, applied, first_time))
        writes = staged.final()
        writes.pause = pause
        tx.write(writes)
        self._pending_seq = tx.last_change_seq()
        return out

    def committed(self) -> None:
        """The transaction of the last `learn` committed: the index is in step with it."""
        if self._pending_seq is not None:
            self.index.committed(self._pending_seq)
            self._pending_seq = None

    def failed(self) -> None:
        """The transaction of the last `learn` rolled back: drop what the index assumed."""
        self._pending_seq = None
        self.index.reset()

    # ------------------------------------------------------------ per episode

    def _merge_patterns(
        self, tx: LearningTransaction, item: LearnItem, linked: set[UUID], staged: _Staged
    ) -> list[Pattern]:
        episode_id = item.episode.episode_id
        merger = PatternMerger(episode_id, self.merge_threshold)
        stored: list[Pattern] = []
        for pattern in item.patterns:
            group = self.index.group(tx, pattern.kind, pattern.domain)
            key = similarity_key(pattern)
            merged = merger.resolve(pattern, group.find_match(pattern, self.merge_threshold, key))
            if merged is not None and merged.pattern_id in linked:
                stored.append(group.patterns[merged.pattern_id])  # counted when first learned
                continue
            value = pattern if merged is None else merged
            self.index.put(value, key if merged is None else None)
            staged.pattern(value, new=merged is None)
            stored.append(value)
        staged.writes.pattern_links += [
            (pattern_id, episode_id)
            for pattern_id in dict.fromkeys(p.pattern_id for p in stored)
            if pattern_id not in linked
        ]
        return stored

    def _merge_heuristics(
        self, tx: LearningTransaction, item: LearnItem, linked: set[UUID], staged: _Staged
    ) -> list[Heuristic]:
        candidates = item.heuristics
        if not candidates:
            return []
        known = self.index.heuristics(tx)
        episode = item.episode
        keys = [heuristic_key(c) for c in candidates]  # distinct: one candidate per key
        keyed = [(c, known.match(c, key), key) for c, key in zip(candidates, keys, strict=True)]
        if outcome_weight(episode) < 0.5:
            # A failed episode only counts against rules learned from successes that ended
            # before it did (decided by time, so learning it again decides the same way).
            until = episode.end_time
            keyed = [
                (c, match, key)
                for c, match, key in keyed
                if match is not None and (until is None or match.created_at <= until)
            ]
        merger = HeuristicMerger(episode.episode_id)
        out: list[Heuristic] = []
        for heuristic, match, key in keyed:
            merged = merger.resolve(heuristic, match)
            if merged is not None and merged.heuristic_id in linked:
                current = known.get(merged.heuristic_id)
                if current is not None:  # counted when the episode was first learned
                    out.append(current)
                    continue
            value = heuristic if merged is None else merged
            staged.writes.serialized[value.heuristic_id] = known.put(value, key)
            staged.heuristic(value, new=merged is None)
            out.append(value)
        staged.writes.heuristic_links += [
            (heuristic_id, episode.episode_id)
            for heuristic_id in dict.fromkeys(h.heuristic_id for h in out)
            if heuristic_id not in linked
        ]
        return out

    def _apply(
        self, tx: LearningTransaction, episode: Episode, retrieved: Retrieved, staged: _Staged
    ) -> list[UUID]:
        """Count the episode's result as an application of the patterns it retrieved."""
        pattern_ids, update = retrieved(episode)
        applied: list[UUID] = []
        for pattern_id in pattern_ids:
            pattern = self.index.pattern(tx, pattern_id)
            if pattern is None:
                continue
            updated = update(pattern)
            self.index.put(updated)
            staged.pattern(updated)
            applied.append(pattern_id)
        return applied
