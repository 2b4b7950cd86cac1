"""The storage interface: what the memory needs from a database.

Stores are structural (`typing.Protocol`): a third-party store does not inherit anything,
it only provides these methods. Every method takes the tenant ``namespace`` first and must
never read or write another namespace's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable
from uuid import UUID

from memory_core.models import (
    Episode,
    ExecutionStep,
    Heuristic,
    OutcomeKind,
    Pattern,
    PatternKind,
    TaskType,
)

__all__ = [
    "BatchLearningStore",
    "Change",
    "ChangeEntity",
    "CountingStore",
    "EpisodeQuery",
    "EpisodeState",
    "EpisodeStore",
    "HeuristicMerge",
    "LearnedEpisode",
    "LearningTransaction",
    "LearningWrites",
    "NAMESPACE_DELETED",
    "PatternMerge",
    "PatternUpdate",
    "WriteBatch",
    "count_learned_items",
    "count_unlearned",
]


@dataclass(frozen=True, slots=True)
class EpisodeQuery:
    """Filters for listing episodes; every filter is optional and they combine with AND.

    Results are ordered newest first (by start time).
    """

    domain: str | None = None
    task_type: TaskType | None = None
    outcome_kind: OutcomeKind | None = None
    completed: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_reward: float | None = None
    limit: int | None = 100
    offset: int = 0


@dataclass(slots=True)
class WriteBatch:
    """Writes applied together in one transaction (all or nothing).

    Attributes:
        new_episodes: Episodes to insert (their steps, if any, are inserted too).
        steps: Steps to append to already-inserted episodes, as (episode id, step).
        completed: Episodes to overwrite with their final state (outcome, reward,
            reflection...); steps they hold that are not stored yet are inserted.
    """

    new_episodes: list[Episode] = field(default_factory=list)
    steps: list[tuple[UUID, ExecutionStep]] = field(default_factory=list)
    completed: list[Episode] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new_episodes or self.steps or self.completed)

    def __len__(self) -> int:
        return len(self.new_episodes) + len(self.steps) + len(self.completed)


NAMESPACE_DELETED = UUID(int=0)
"""``entity_id`` of the change-feed entry (entity ``"namespace"``) left by a deleted namespace."""


ChangeEntity = Literal["episode", "pattern", "heuristic", "namespace"]
"""What a change-feed entry is about."""


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a store's change feed, used to keep other processes' views fresh.

    An entry of entity ``"namespace"`` (op ``"delete"``) says the whole namespace was
    deleted: whatever a process holds of it is gone.
    """

    seq: int
    entity: ChangeEntity
    entity_id: UUID
    op: Literal["upsert", "delete"]


@dataclass(frozen=True, slots=True)
class EpisodeState:
    """What a learning transaction needs to know about a stored episode.

    Attributes:
        learned: Whether its learning has committed already.
        data: Its stored header JSON (the episode without steps), rewritten when it is
            marked learned.
    """

    learned: bool
    data: str


@dataclass(frozen=True, slots=True)
class LearnedEpisode:
    """An episode marked learned by a learning transaction, with what it fed."""

    episode_id: UUID
    pattern_ids: Sequence[UUID]
    heuristic_ids: Sequence[UUID]
    data: str
    """Its header JSON as stored before (from `EpisodeState`); the ids are added to it."""


@dataclass(slots=True)
class LearningWrites:
    """Everything one learning transaction writes, applied together by `LearningTransaction.write`.

    Attributes:
        new_patterns: Patterns to insert.
        changed_patterns: Stored patterns to overwrite (merged into, or effectiveness updated).
        new_heuristics: Heuristics to insert.
        changed_heuristics: Stored heuristics to overwrite.
        pattern_links: (pattern id, episode id) evidence links to add.
        heuristic_links: (heuristic id, episode id) links to add.
        learned: Episodes to mark learned.
        serialized: JSON already made of some of the heuristics above, by id (written as
            it is instead of being serialised again).
        pause: Called now and then while the rows are made (the learner's chance to let
            other threads run; see `memory_core.learning.batch.Pause`).
    """

    new_patterns: list[Pattern] = field(default_factory=list)
    changed_patterns: list[Pattern] = field(default_factory=list)
    new_heuristics: list[Heuristic] = field(default_factory=list)
    changed_heuristics: list[Heuristic] = field(default_factory=list)
    pattern_links: list[tuple[UUID, UUID]] = field(default_factory=list)
    heuristic_links: list[tuple[UUID, UUID]] = field(default_factory=list)
    learned: list[LearnedEpisode] = field(default_factory=list)
    serialized: dict[UUID, str] = field(default_factory=dict)
    pause: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)


class LearningTransaction(Protocol):
    """One database transaction in which a batch of episodes is learned.

    Opened by `BatchLearningStore.learning_transaction`; everything read through it is
    consistent with what it writes, and nothing is visible to others before it commits.
    Call order: optionally `claim_unlearned` or `episode_states` (row claims), then `lock`
    (serialises the namespace's pattern writers), then reads, then one `write`.
    """

    def claim_unlearned(self, limit: int, *, exclude: Sequence[UUID] = ()) -> list[Episode]:
        """Claim up to ``limit`` completed, unlearned episodes (oldest first, with steps).

        Claimed episodes are not handed to another learner's claim until this transaction
        ends (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: its write lock).
        """
        ...

    def episode_states(self, episode_ids: Sequence[UUID]) -> dict[UUID, EpisodeState]:
        """Learned flag and stored header of the listed episodes that exist (row-locked)."""
        ...

    def lock(self) -> None:
        """Serialise against every other writer of the namespace's patterns and heuristics."""
        ...

    def last_change_seq(self) -> int:
        """The highest sequence number of the namespace's change feed, as seen now."""
        ...

    def pattern_changes_since(self, seq: int, limit: int) -> list[Change]:
        """Pattern, heuristic and namespace entries of the change feed above ``seq``.

        At most ``limit`` of them, in order.
        """
        ...

    def patterns_of(self, kind: PatternKind, domain: str | None) -> list[Pattern]:
        """Every stored pattern of one kind and domain."""
        ...

    def get_patterns(self, pattern_ids: Sequence[UUID]) -> list[Pattern]:
        """The listed patterns that exist."""
        ...

    def heuristics(self, heuristic_ids: Sequence[UUID] | None = None) -> list[Heuristic]:
        """Every stored heuristic of the namespace (or only the listed ones that exist)."""
        ...

    def links(
        self, episode_ids: Sequence[UUID]
    ) -> tuple[set[tuple[UUID, UUID]], set[tuple[UUID, UUID]]]:
        """(pattern id, episode id) and (heuristic id, episode id) links of the episodes."""
        ...

    def write(self, writes: LearningWrites) -> None:
        """Apply the batch's writes (and record them in the change feed)."""
        ...


@runtime_checkable
class BatchLearningStore(Protocol):
    """A store that can learn many episodes in one transaction (optional capability).

    Stores without it are learned episode by episode through `EpisodeStore.merge_patterns`,
    `EpisodeStore.merge_heuristics` and `EpisodeStore.mark_learned`.
    """

    def learning_transaction(self, namespace: str) -> AbstractContextManager[LearningTransaction]:
        """Open a learning transaction on ``namespace``; it commits when the block exits."""
        ...


@runtime_checkable
class CountingStore(Protocol):
    """A store that counts rows without reading them (optional capability).

    Stores without it are counted by listing (see `count_unlearned` and `count_learned_items`).
    """

    def count_unlearned(self, namespace: str) -> int:
        """Completed episodes whose pattern extraction has not run yet."""
        ...

    def count_patterns(self, namespace: str) -> int:
        """Patterns stored in the namespace."""
        ...

    def count_heuristics(self, namespace: str) -> int:
        """Heuristics stored in the namespace."""
        ...


def count_unlearned(store: EpisodeStore, namespace: str) -> int:
    """Completed episodes of ``namespace`` not learned from yet (counted, or listed)."""
    if isinstance(store, CountingStore):
        return store.count_unlearned(namespace)
    return len(store.unlearned_episode_ids(namespace))


def count_learned_items(store: EpisodeStore, namespace: str) -> tuple[int, int]:
    """(patterns, heuristics) stored in ``namespace`` (counted, or listed)."""
    if isinstance(store, CountingStore):
        return store.count_patterns(namespace), store.count_heuristics(namespace)
    return len(store.list_patterns(namespace)), len(store.list_heuristics(namespace))


PatternMerge = Callable[[Pattern, Sequence[Pattern]], Pattern | None]
"""Given a new pattern and the stored patterns of the same kind and domain, return the stored
pattern merged with the new one (keeping the stored ``pattern_id``), or None to insert the new
pattern as it is. The store does not apply a merge into a pattern already linked to the episode
being learned (see `EpisodeStore.merge_patterns`)."""

PatternUpdate = Callable[[Pattern], Pattern]
"""Return an updated copy of a stored pattern (used for effectiveness bookkeeping)."""

HeuristicMerge = Callable[[Heuristic, Sequence[Heuristic]], Heuristic | None]
"""Like `PatternMerge`, for heuristics."""


@runtime_checkable
class EpisodeStore(Protocol):
    """Durable storage of episodes, steps, patterns and heuristics, partitioned by namespace."""

    def write(self, namespace: str, batch: WriteBatch) -> None:
        """Apply a batch of episode and step writes atomically."""
        ...

    def get_episode(self, namespace: str, episode_id: UUID) -> Episode | None:
        """Return the episode with all its steps, or None."""
        ...

    def get_episodes(self, namespace: str, episode_ids: Sequence[UUID]) -> list[Episode]:
        """Return the listed episodes that exist (any order)."""
        ...

    def list_episodes(self, namespace: str, query: EpisodeQuery) -> list[Episode]:
        """Return full episodes matching the query, newest first."""
        ...

    def count_episodes(self, namespace: str, *, completed: bool | None = None) -> int:
        """Count episodes (optionally only completed or only in-flight ones)."""
        ...

    def delete_episode(self, namespace: str, episode_id: UUID) -> bool:
        """Delete an episode and its steps; return False if it did not exist."""
        ...

    def unlearned_episode_ids(self, namespace: str) -> list[UUID]:
        """Completed episodes whose pattern extraction has not run yet, oldest first."""
        ...

    def mark_learned(
        self,
        namespace: str,
        episode_id: UUID,
        pattern_ids: Sequence[UUID],
        heuristic_ids: Sequence[UUID] = (),
    ) -> None:
        """Record that extraction ran for an episode and which patterns it fed."""
        ...

    def mark_unlearned(self, namespace: str, episode_ids: Sequence[UUID] | None = None) -> int:
        """Mark completed episodes (all, or the listed ones) as not learned from yet.

        Clears their ``pattern_ids`` / ``heuristic_ids`` (the pattern and heuristic links
        stay), so `unlearned_episode_ids` lists them again. Returns how many were marked.
        """
        ...

    def get_pattern(self, namespace: str, pattern_id: UUID) -> Pattern | None:
        """Return one pattern, or None."""
        ...

    def list_patterns(
        self,
        namespace: str,
        *,
        kind: PatternKind | None = None,
        domain: str | None = None,
        limit: int | None = None,
    ) -> list[Pattern]:
        """Return patterns, most recently updated first."""
        ...

    def merge_patterns(
        self,
        namespace: str,
        episode_id: UUID | None,
        patterns: Sequence[Pattern],
        merge: PatternMerge,
    ) -> list[Pattern]:
        """Insert patterns, merging each into a stored match chosen by ``merge``.

        Runs atomically and serialised against concurrent merges in the namespace (also from
        other processes), so equal patterns never end up stored twice. Links every resulting
        pattern to ``episode_id``. A pattern that was already linked to ``episode_id`` when
        the call began is returned as stored, unchanged, when ``merge`` picks it: the episode
        is being learned again and was counted in it before (however long its evidence list).
        Returns the stored versions, in input order.
        """
        ...

    def update_patterns(
        self, namespace: str, pattern_ids: Sequence[UUID], update_fn: PatternUpdate
    ) -> list[Pattern]:
        """Atomically replace each listed pattern by ``update_fn(pattern)``; skip unknown ids."""
        ...

    def get_patterns(self, namespace: str, pattern_ids: Sequence[UUID]) -> list[Pattern]:
        """Return the listed patterns that exist (any order)."""
        ...

    def pattern_episode_ids(self, namespace: str, pattern_id: UUID) -> list[UUID]:
        """Episodes linked to a pattern (its evidence), in no particular order."""
        ...

    def delete_pattern(self, namespace: str, pattern_id: UUID) -> bool:
        """Delete a pattern; return False if it did not exist."""
        ...

    def delete_patterns(self, namespace: str, pattern_ids: Sequence[UUID] | None = None) -> int:
        """Delete the listed patterns (None: all of the namespace) and their episode links.

        One transaction; returns how many were deleted.
        """
        ...

    def merge_heuristics(
        self,
        namespace: str,
        heuristics: Sequence[Heuristic],
        merge: HeuristicMerge,
        *,
        episode_id: UUID | None = None,
    ) -> list[Heuristic]:
        """Insert heuristics, merging into stored matches (atomic, serialised like patterns).

        Like `merge_patterns`: links every result to ``episode_id``, and a heuristic already
        linked to it is returned as stored instead of being merged into again.
        """
        ...

    def delete_heuristics(self, namespace: str, heuristic_ids: Sequence[UUID] | None = None) -> int:
        """Delete the listed heuristics (None: all of the namespace) and their episode links.

        One transaction; returns how many were deleted.
        """
        ...

    def list_heuristics(self, namespace: str, *, limit: int | None = None) -> list[Heuristic]:
        """Return heuristics, most recently updated first."""
        ...

    def changes_since(
        self,
        namespace: str,
        seq: int,
        *,
        limit: int = 10_000,
        entities: Collection[ChangeEntity] | None = None,
    ) -> list[Change]:
        """Entries of the change feed with a sequence number above ``seq``, in order.

        ``entities`` keeps only the entries of those entities (and the ``"namespace"``
        ones, which are always included). Readers pass it only to a store with a true
        ``feed_in_commit_order`` attribute (optional; absent means false): one whose
        entries become visible in sequence order, so that a skipped number is never an
        entry still to come. Elsewhere a reader must see every number to tell a filtered
        entry from a late one.

        A store that trims its feed raises `memory_core.errors.ChangeFeedTrimmedError`
        when entries above ``seq`` may be gone; the caller then rebuilds its view.
        """
        ...

    def last_change_seq(self, namespace: str) -> int:
        """The highest sequence number of the change feed (0 when empty)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    # ------------------------------------------------- embeddings (retrieval)

    def put_episode_embeddings(
        self, namespace: str, model: str, vectors: Mapping[UUID, Sequence[float]]
    ) -> None:
        """Store (or replace) episodes' embedding vectors made by embedder ``model``."""
        ...

    def get_episode_embeddings(
        self, namespace: str, model: str, episode_ids: Sequence[UUID]
    ) -> dict[UUID, list[float]]:
        """Stored vectors of embedder ``model`` for the listed episodes (missing ones absent)."""
        ...

    # ----------------------------------------- bulk import/export (portability)

    def export_episodes(
        self, namespace: str, *, after: tuple[datetime, UUID] | None = None, limit: int = 1000
    ) -> list[tuple[Episode, bool]]:
        """A page of episodes with their steps and learned flag, oldest first.

        Ordered by (start time, episode id); ``after`` is the (start time, id) of the last
        episode of the previous page (None: from the start). Used by export and the report.
        """
        ...

    def pattern_links(self, namespace: str) -> list[tuple[UUID, UUID]]:
        """Every (pattern id, episode id) evidence link of the namespace, sorted."""
        ...

    def import_records(
        self,
        namespace: str,
        episodes: Sequence[tuple[Episode, bool]],
        patterns: Sequence[tuple[Pattern, Sequence[UUID]]] = (),
        heuristics: Sequence[Heuristic] = (),
    ) -> tuple[int, int, int]:
        """Insert records whose ids are not stored yet, in one transaction.

        ``episodes`` pairs each episode (with its steps) with its learned flag; ``patterns``
        pairs each pattern with its evidence episode ids (missing links are added even when
        the pattern exists). Records already stored are left as they are, so importing twice
        adds nothing. Returns how many (episodes, patterns, heuristics) were inserted.
        """
        ...
