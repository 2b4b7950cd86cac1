"""Write-time merging: a new pattern folds into the stored pattern it duplicates.

Equal similarity keys merge; so do near-duplicates whose `pattern_similarity` reaches the
configured threshold (0.85 by default). Merging adds occurrence counts, takes
occurrence-weighted means of success rates and latencies, and accumulates evidence episode
ids (the newest `MAX_EVIDENCE` are kept). The stored pattern keeps its id, context,
creation time and effectiveness.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from memory_core.learning.extractors import MAX_RECOVERY_STEPS
from memory_core.learning.similarity import pattern_similarity, similarity_key
from memory_core.models import (
    MAX_EVIDENCE,
    ContextPattern,
    DecisionPoint,
    ErrorRecovery,
    OutcomeStats,
    Pattern,
    ToolSequence,
)

__all__ = [
    "PatternMerger",
    "best_candidate",
    "find_match",
    "lists_episode",
    "merge_evidence",
    "merge_into",
]


def _weighted(a: float, wa: int, b: float, wb: int) -> float:
    total = wa + wb
    return (a * wa + b * wb) / total if total else 0.0


def merge_evidence(old: Sequence[UUID], new: Sequence[UUID]) -> list[UUID]:
    """Old then new episode ids without duplicates, keeping the newest `MAX_EVIDENCE`."""
    ids = [*old, *new]
    # Deduplicated by their integer values: hashing a `UUID` runs Python code, an int's not.
    merged = list(dict(zip([i.int for i in ids], ids, strict=True)).values())
    return merged[-MAX_EVIDENCE:]


def lists_episode(evidence: Sequence[UUID], episode_id: UUID) -> bool:
    """Whether ``episode_id`` is in ``evidence`` (compared as integers, see `merge_evidence`)."""
    return episode_id.int in [i.int for i in evidence]


def merge_into(stored: Pattern, new: Pattern) -> Pattern:
    """Fold ``new`` into ``stored`` (same kind) and return the merged copy of ``stored``."""
    wa, wb = stored.occurrence_count, new.occurrence_count
    update: dict[str, object] = {
        "occurrence_count": wa + wb,
        "evidence": merge_evidence(stored.evidence, new.evidence),
        "updated_at": max(stored.updated_at, new.updated_at),
    }
    if isinstance(stored, ToolSequence) and isinstance(new, ToolSequence):
        update["success_rate"] = _weighted(stored.success_rate, wa, new.success_rate, wb)
        update["avg_latency_ms"] = _weighted(stored.avg_latency_ms, wa, new.avg_latency_ms, wb)
    elif isinstance(stored, DecisionPoint) and isinstance(new, DecisionPoint):
        a, b = stored.outcome_stats, new.outcome_stats
        update["outcome_stats"] = OutcomeStats(
            success_count=a.success_count + b.success_count,
            failure_count=a.failure_count + b.failure_count,
            total_count=a.total_count + b.total_count,
            avg_duration_secs=_weighted(
                a.avg_duration_secs, a.total_count, b.avg_duration_secs, b.total_count
            ),
        )
    elif isinstance(stored, ErrorRecovery) and isinstance(new, ErrorRecovery):
        update["success_rate"] = _weighted(stored.success_rate, wa, new.success_rate, wb)
        steps = list(dict.fromkeys([*stored.recovery_steps, *new.recovery_steps]))
        update["recovery_steps"] = steps[:MAX_RECOVERY_STEPS]
    elif isinstance(stored, ContextPattern) and isinstance(new, ContextPattern):
        update["success_rate"] = _weighted(stored.success_rate, wa, new.success_rate, wb)
    else:
        raise TypeError(f"cannot merge a {new.kind} pattern into a {stored.kind} pattern")
    return stored.model_copy(update=update)


def best_candidate(pool: Sequence[Pattern]) -> Pattern:
    """The pattern to merge into among equally good candidates.

    More occurrences first, then the older one, then the lower id.
    """
    if len(pool) == 1:
        return pool[0]
    return min(pool, key=lambda c: (-c.occurrence_count, c.created_at, str(c.pattern_id)))


def find_match(new: Pattern, candidates: Sequence[Pattern], threshold: float) -> Pattern | None:
    """The stored candidate ``new`` should merge into, or None.

    An equal similarity key wins; else the most similar candidate at or above ``threshold``
    (ties: more occurrences, then older, then id).
    """
    key = similarity_key(new)
    exact = [c for c in candidates if c.kind == new.kind and similarity_key(c) == key]
    pool = exact
    if not pool:
        scored = [
            (pattern_similarity(new, c, floor=threshold), c)
            for c in candidates
            if c.kind == new.kind
        ]
        pool = [c for s, c in scored if s >= threshold]
        if pool:
            best = max(s for s, _ in scored if s >= threshold)
            pool = [c for s, c in scored if s == best]
    if not pool:
        return None
    return best_candidate(pool)


class PatternMerger:
    """The merge function handed to `EpisodeStore.merge_patterns` for one episode.

    Learning an episode again never counts it twice: the store does not apply a merge into a
    pattern already linked to the episode (its link table is uncapped). As a fallback for
    stores without links, a stored pattern whose evidence already lists the episode is
    returned unchanged too, unless this same call already merged into it (two findings of
    one episode may merge into the same stored pattern).

    Args:
        episode_id: The episode whose patterns are merged.
        threshold: Similarity at which near-duplicates merge.
    """

    def __init__(self, episode_id: UUID, threshold: float) -> None:
        self.episode_id = episode_id
        self.threshold = threshold
        self._touched: set[UUID] = set()

    def __call__(self, new: Pattern, candidates: Sequence[Pattern]) -> Pattern | None:
        """Return the merged stored pattern, or None to insert ``new`` as it is."""
        return self.resolve(new, find_match(new, candidates, self.threshold))

    def resolve(self, new: Pattern, match: Pattern | None) -> Pattern | None:
        """Like calling the merger, with the stored match already chosen (`find_match`)."""
        if match is None:
            self._touched.add(new.pattern_id)
            return None
        if match.pattern_id not in self._touched and lists_episode(match.evidence, self.episode_id):
            return match
        self._touched.add(match.pattern_id)
        return merge_into(match, new)
