"""Retention: which completed episodes a namespace keeps, and pruning the rest.

Only completed episodes that learning has processed are ever deleted. Episodes older than
``max_age_days`` go first; then, while the namespace holds more than ``max_episodes``
completed episodes, the least valuable go (`episode_value`, the formula documented on
`memory_core.config.RetentionConfig`). Deletion runs in chunks of ``prune_chunk_size``
episodes, each its own transaction (`LifecycleStore.delete_episodes`): a prune that is
interrupted (time budget, crash, ``kill -9``) leaves a consistent database, and the next
prune carries on. The cap is re-counted inside every chunk's transaction, so pruners in
several processes never delete below it. Each prune also compacts the namespace's change
feed (`LifecycleStore.compact_changes`), which would otherwise grow without bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from memory_core.config import RetentionConfig
from memory_core.models import utcnow
from memory_core.storage.browse import micros
from memory_core.storage.erasure import DeletionCounts, LifecycleStore, RetentionCandidate

__all__ = ["PruneReport", "episode_value", "prune"]

_DAY_US = 86_400_000_000


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What a prune deleted (or, with ``dry_run``, would delete).

    Attributes:
        namespace: The namespace pruned.
        dry_run: True when nothing was deleted.
        completed_before: Completed episodes before the prune.
        completed_after: Completed episodes after it (projected for a dry run).
        expired: Episodes selected for being older than ``max_age_days``.
        over_cap: Episodes selected to bring the namespace down to ``max_episodes``.
        deleted: Rows deleted (would be deleted), with their payload bytes.
        complete: False when the time budget ran out first (the next prune carries on).
        seconds: How long the prune took.
    """

    namespace: str
    dry_run: bool
    completed_before: int
    completed_after: int
    expired: int
    over_cap: int
    deleted: DeletionCounts = field(default_factory=DeletionCounts)
    complete: bool = True
    seconds: float = 0.0

    @property
    def episodes_deleted(self) -> int:
        """Episodes deleted (would be deleted)."""
        return self.deleted.episodes

    @property
    def links_deleted(self) -> int:
        """Pattern and heuristic evidence links removed with them."""
        return self.deleted.pattern_links + self.deleted.heuristic_links

    @property
    def bytes_reclaimed(self) -> int:
        """Payload bytes of the deleted rows (episode and step JSON, embedding vectors).

        The space is free for new rows at once; a SQLite file only shrinks on ``VACUUM``.
        """
        return self.deleted.bytes


def episode_value(candidate: RetentionCandidate, config: RetentionConfig, now_us: int) -> float:
    """How much an episode is worth keeping (see `RetentionConfig` for the formula)."""
    reward = 0.0
    if candidate.reward is not None:
        reward = min(max(candidate.reward / config.reward_scale, 0.0), 1.0)
    age_days = max(now_us - candidate.end_us, 0) / _DAY_US
    recency: float = 0.5 ** (age_days / config.recency_half_life_days)
    used = candidate.retrievals / (candidate.retrievals + config.retrieval_k)
    return (
        config.reward_weight * reward
        + config.recency_weight * recency
        + config.retrieval_weight * used
        + config.evidence_weight * (1.0 if candidate.sole_evidence else 0.0)
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    completed: int
    expired: list[str]
    over_cap: list[str]


def _plan(store: LifecycleStore, namespace: str, config: RetentionConfig, now_us: int) -> _Plan:
    completed = store.count_episodes(namespace, completed=True)
    if not config.enabled or completed == 0:
        return _Plan(completed, [], [])
    candidates = store.retention_candidates(namespace)
    expired: list[RetentionCandidate] = []
    if config.max_age_days is not None:
        cutoff = now_us - int(config.max_age_days * _DAY_US)
        expired = sorted((c for c in candidates if c.end_us < cutoff), key=lambda c: c.end_us)
    over_cap: list[str] = []
    if config.max_episodes is not None:
        excess = completed - len(expired) - config.max_episodes
        if excess > 0:
            gone = {c.episode_id for c in expired}
            ranked = sorted(
                (c for c in candidates if c.episode_id not in gone),
                key=lambda c: (episode_value(c, config, now_us), c.end_us, c.episode_id),
            )
            over_cap = [c.episode_id for c in ranked[:excess]]
    return _Plan(completed, [c.episode_id for c in expired], over_cap)


def prune(
    store: LifecycleStore,
    namespace: str,
    config: RetentionConfig,
    *,
    dry_run: bool = False,
    deadline: float | None = None,
    progress: Callable[[DeletionCounts], None] | None = None,
) -> PruneReport:
    """Apply ``config`` to one namespace (see the module doc).

    Args:
        store: The store.
        namespace: The namespace to prune.
        config: The retention settings.
        dry_run: Only report what would be deleted.
        deadline: A `time.monotonic` value after which no further chunk starts (the first
            chunk always runs, so every call makes progress).
        progress: Called after each committed chunk with the totals so far.
    """
    started = time.monotonic()
    plan = _plan(store, namespace, config, micros(utcnow()))
    if dry_run:
        counts = store.measure_deletion(namespace, plan.expired + plan.over_cap)
        return PruneReport(
            namespace=namespace,
            dry_run=True,
            completed_before=plan.completed,
            completed_after=plan.completed - counts.episodes,
            expired=len(plan.expired),
            over_cap=len(plan.over_cap),
            deleted=counts,
            seconds=time.monotonic() - started,
        )
    size = config.prune_chunk_size
    work: list[tuple[list[str], int | None]] = [
        (plan.expired[i : i + size], None) for i in range(0, len(plan.expired), size)
    ]
    work += [
        (plan.over_cap[i : i + size], config.max_episodes)
        for i in range(0, len(plan.over_cap), size)
    ]
    total = DeletionCounts()
    complete = True
    for index, (chunk, keep) in enumerate(work):
        # at least one chunk per run: planning alone may use up a small budget
        if index and deadline is not None and time.monotonic() >= deadline:
            complete = False
            break
        total += store.delete_episodes(
            namespace,
            chunk,
            drop_orphans=config.drop_orphan_patterns,
            learned_only=True,
            keep_at_least=keep,
        )
        if progress is not None:
            progress(total)
    store.compact_changes(namespace)
    return PruneReport(
        namespace=namespace,
        dry_run=False,
        completed_before=plan.completed,
        completed_after=store.count_episodes(namespace, completed=True),
        expired=len(plan.expired),
        over_cap=len(plan.over_cap),
        deleted=total,
        complete=complete,
        seconds=time.monotonic() - started,
    )
