"""Learning stored episodes again: the pieces of `LearningService.relearn`.

Re-learning is idempotent. The store links every pattern and heuristic to the episodes it
was learned from (uncapped, unlike the ``evidence`` lists), and its atomic merge never counts
an episode again in a pattern or heuristic it is already linked to. So re-running extraction
after installing an extractor adds what the new extractor finds, and running it twice changes
nothing.

A rebuild first marks every episode unlearned and deletes the namespace's patterns and
heuristics, then learns everything again in completion order. Because the episodes are marked
unlearned first, a rebuild interrupted by a crash finishes the next time a memory opens the
database. Patterns that come back (same kind and similarity key) get the effectiveness record
of the pattern they replace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from uuid import UUID

from memory_core.errors import EpisodeNotFoundError, InvalidInputError
from memory_core.learning.similarity import similarity_key
from memory_core.models import Episode, Heuristic, Pattern, PatternEffectiveness
from memory_core.storage import EpisodeStore

__all__ = [
    "EffectivenessByKey",
    "RelearnProgress",
    "check_relearn_options",
    "count_changes",
    "effectiveness_by_key",
    "heuristic_counts",
    "pattern_counts",
    "select_episodes",
    "with_effectiveness",
]

RelearnProgress = Callable[[int, int], None]
"""Called with (episodes done, episodes selected) as a relearn run goes."""

EffectivenessByKey = Mapping[tuple[str, str], PatternEffectiveness]
"""Effectiveness records by (pattern kind, similarity key)."""

_CHUNK = 500


def check_relearn_options(
    episode_ids: Sequence[UUID] | None, pending_only: bool, rebuild: bool
) -> None:
    """Reject option combinations that make no sense.

    Raises:
        InvalidInputError: For ``rebuild`` with ``pending_only`` or ``episode_ids`` (a rebuild
            deletes every pattern, so it learns every episode), or ``pending_only`` with
            ``episode_ids``.
    """
    if rebuild and pending_only:
        raise InvalidInputError(
            "rebuild and pending_only cannot be combined: a rebuild learns every episode "
            "again; pick one"
        )
    if rebuild and episode_ids is not None:
        raise InvalidInputError(
            "rebuild and episode_ids cannot be combined: a rebuild deletes every pattern and "
            "learns every episode again; drop episode_ids or rebuild"
        )
    if pending_only and episode_ids is not None:
        raise InvalidInputError(
            "pending_only and episode_ids cannot be combined; pass the episodes you want, or "
            "pending_only=True for every episode whose extraction never ran"
        )


def _listed(store: EpisodeStore, namespace: str, ids: Sequence[UUID]) -> Iterator[Episode]:
    """The listed episodes, in that order, read in chunks (missing ones are skipped)."""
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found = {e.episode_id: e for e in store.get_episodes(namespace, chunk)}
        yield from (found[i] for i in chunk if i in found)


def _all_completed(store: EpisodeStore, namespace: str, batch_size: int) -> Iterator[Episode]:
    cursor = None
    while page := store.export_episodes(namespace, after=cursor, limit=batch_size):
        last = page[-1][0]
        cursor = (last.start_time, last.episode_id)
        yield from (episode for episode, _ in page if episode.is_complete)


def select_episodes(
    store: EpisodeStore,
    namespace: str,
    *,
    episode_ids: Sequence[UUID] | None = None,
    pending_only: bool = False,
    batch_size: int = _CHUNK,
) -> tuple[int, Iterable[Episode]]:
    """How many episodes a relearn run covers, and the episodes (read lazily, in chunks).

    ``episode_ids``: those episodes, in that order (checked up front). ``pending_only``: the
    episodes whose extraction never ran, in completion order. Otherwise every completed
    episode, oldest first.

    Raises:
        EpisodeNotFoundError: A listed episode does not exist.
        InvalidInputError: A listed episode is still in progress.
    """
    if episode_ids is not None:
        wanted = list(dict.fromkeys(episode_ids))
        episodes = list(_listed(store, namespace, wanted))
        if len(episodes) < len(wanted):
            found = {e.episode_id for e in episodes}
            raise EpisodeNotFoundError(next(i for i in wanted if i not in found), namespace)
        running = next((e for e in episodes if not e.is_complete), None)
        if running is not None:
            raise InvalidInputError(
                f"episode {running.episode_id} is still in progress; complete it before "
                "learning from it"
            )
        return len(episodes), episodes
    if pending_only:
        ids = store.unlearned_episode_ids(namespace)
        return len(ids), _listed(store, namespace, ids)
    total = store.count_episodes(namespace, completed=True)
    return total, _all_completed(store, namespace, batch_size)


def effectiveness_by_key(
    patterns: Iterable[Pattern],
) -> dict[tuple[str, str], PatternEffectiveness]:
    """The effectiveness record of each pattern, by (kind, similarity key)."""
    return {(p.kind, similarity_key(p)): p.effectiveness for p in patterns}


def with_effectiveness(patterns: Sequence[Pattern], kept: EffectivenessByKey) -> list[Pattern]:
    """The patterns, each with the kept effectiveness record of its (kind, key), if any."""
    out: list[Pattern] = []
    for pattern in patterns:
        record = kept.get((pattern.kind, similarity_key(pattern))) if kept else None
        out.append(
            pattern if record is None else pattern.model_copy(update={"effectiveness": record})
        )
    return out


def pattern_counts(patterns: Iterable[Pattern]) -> dict[UUID, int]:
    """Occurrence count by pattern id (to tell created and updated patterns apart later)."""
    return {p.pattern_id: p.occurrence_count for p in patterns}


def heuristic_counts(heuristics: Iterable[Heuristic]) -> dict[UUID, int]:
    """Sample size by heuristic id (to tell created and updated heuristics apart later)."""
    return {h.heuristic_id: h.sample_size for h in heuristics}


def count_changes(before: Mapping[UUID, int], after: Mapping[UUID, int]) -> tuple[int, int]:
    """(created, updated): ids new in ``after``, and ids whose count changed."""
    created = sum(1 for key in after if key not in before)
    updated = sum(1 for key, count in after.items() if key in before and before[key] != count)
    return created, updated
