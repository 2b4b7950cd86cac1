"""The learning step run for every completed episode (seam used by the memory engine).

Order for one episode: `LearningService.admit` (backpressure, before anything is stored),
`LearningService.assess` (reward, reflection and the optional quality gate, before
storing), then, once the episode is durable, `LearningService.submit`: pattern extraction,
write-time merging, heuristics and effectiveness updates, either on the background worker
pool or in the caller. An episode stays marked *unlearned* in the database until that work
has committed, so work interrupted by a crash or a `close` that timed out is re-queued by
`LearningService.resume` the next time a memory opens on the database.
`LearningService.relearn` learns stored episodes again (see `memory_core.learning.relearn`).

Workers learn the episodes waiting in the queue in batches, one transaction per batch
(`memory_core.learning.batch`), against an in-memory index of merge candidates kept in step
with the database (`memory_core.learning.candidates`); a batch that fails is retried one
episode at a time, so one bad episode never holds back the others. ``learning.mode =
"external"`` stores episodes without learning them in-process; `LearningService.learn_pending`
(``memory-core learn``) claims and learns them from any process.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from memory_core.config import MemoryConfig
from memory_core.errors import (
    EpisodeQualityError,
    InvalidInputError,
    LearningQueueFullError,
    PatternNotFoundError,
    StorageError,
)
from memory_core.learning.batch import BatchLearner, LearnedItem, LearnItem, Pause
from memory_core.learning.effectiveness import record_application, record_retrieval
from memory_core.learning.extractors import (
    PatternExtractor,
    default_extractors,
    extract_patterns,
    outcome_weight,
)
from memory_core.learning.heuristics import (
    HeuristicMerger,
    heuristic_candidates,
    heuristic_key,
    rank_heuristics,
)
from memory_core.learning.learner import LearnReport
from memory_core.learning.merging import PatternMerger
from memory_core.learning.quality import quality_score
from memory_core.learning.queue import WorkQueue
from memory_core.learning.reflection import Reflector
from memory_core.learning.relearn import (
    EffectivenessByKey,
    RelearnProgress,
    check_relearn_options,
    count_changes,
    effectiveness_by_key,
    heuristic_counts,
    pattern_counts,
    select_episodes,
    with_effectiveness,
)
from memory_core.learning.reward import RewardScorer
from memory_core.models import (
    Episode,
    Heuristic,
    LearningStats,
    Pattern,
    Reflection,
    RelearnReport,
    TaskContext,
)
from memory_core.storage import EpisodeQuery, EpisodeStore
from memory_core.storage.base import BatchLearningStore, LearningTransaction

if TYPE_CHECKING:
    from memory_core.plugins import PluginHost

__all__ = ["LearningService"]

_ELSEWHERE = ("external", "process")
"""Modes in which this process stores episodes but never learns them."""

logger = logging.getLogger("memory_core.learning")

_MAX_APPLIED = 10_000
_BASELINE_WINDOW = 50


def _with_extra_items(reflection: Reflection, extra: Mapping[str, list[str]]) -> Reflection:
    """Add plugin sentences to a reflection, keeping each list at five at most.

    Plugin sentences are kept; built-in ones make room for them from the end.
    """
    if not any(extra.values()):
        return reflection
    update: dict[str, list[str]] = {}
    for key in ("successes", "improvements", "insights"):
        added = list(extra.get(key, []))[:5]
        update[key] = [*getattr(reflection, key)[: 5 - len(added)], *added]
    return reflection.model_copy(update=update)


_Failure = tuple[Episode, Exception]
"""An episode whose learning failed, and why."""


def _describe(item: Episode | UUID) -> str:
    return f"episode {item.episode_id if isinstance(item, Episode) else item}"


class LearningService:
    """Scores, reflects on and learns from the completed episodes of one namespace.

    Args:
        config: The memory's configuration (``reward`` and ``learning`` sections).
        store: Where episodes, patterns and heuristics live.
        namespace: The tenant learned for.
        extractors: Pattern extractors to run (default: the four built-ins).
        plugins: The memory's plugin host. When given, extractors come from the
            ``register_pattern_extractors`` hook (asked per episode, so plugins registered
            later are used), the reward from ``compute_reward``, extra reflection sentences
            from ``reflection_items``, and ``patterns_learned`` is announced.
        on_learned: Called with each learned episode and its stored patterns (the memory
            uses it to refresh its caches and pattern ranking at once).
    """

    def __init__(
        self,
        config: MemoryConfig,
        store: EpisodeStore,
        namespace: str,
        *,
        extractors: Sequence[PatternExtractor] | None = None,
        plugins: PluginHost | None = None,
        on_learned: Callable[[Episode, Sequence[Pattern]], None] | None = None,
    ) -> None:
        self._on_learned = on_learned
        self._plugins = plugins
        self._config = config
        self._learning = config.learning
        self._store = store
        self._namespace = namespace
        self._extractors: tuple[PatternExtractor, ...] = tuple(
            default_extractors() if extractors is None else extractors
        )
        self._scorer = RewardScorer(config.reward)
        self._reflector = Reflector()
        self._mode = self._learning.effective_mode
        self._queue: WorkQueue[Episode | UUID] = WorkQueue(
            self._learn_queued,
            workers=self._learning.workers,
            maxsize=self._learning.queue_size,
            batch_size=self._learning.batch_size,
            name=f"memory-core-learning[{namespace}]",
            describe=_describe,
        )
        self._batcher = BatchLearner(self._learning.merge_threshold)
        self._batch_lock = threading.Lock()  # one learning transaction at a time per service
        self._claim_failed: set[UUID] = set()  # not claimed again by this service
        self._lock = threading.Lock()
        self._rejected = 0
        self._inline = 0
        self._inline_processed = 0
        self._inline_failed = 0
        # (pattern, episode) applications already counted, explicitly or at completion, so
        # neither a later completion nor learning an episode again counts them twice.
        self._applied: OrderedDict[tuple[UUID, UUID], None] = OrderedDict()
        self._baselines: dict[str, tuple[float, int]] = {}
        self._extractor_errors: dict[str, int] = {}
        self._closed = False

    @property
    def extractors(self) -> tuple[PatternExtractor, ...]:
        """The pattern extractors this service runs, in order."""
        if self._plugins is not None:
            return tuple(self._plugins.extractors())
        return self._extractors

    # ------------------------------------------------------------- the seam

    def admit(self) -> None:
        """Apply backpressure before an episode is stored.

        ``reject`` raises at once when the queue is full; ``block`` waits up to
        ``learning.block_timeout_seconds`` for room, then raises; ``inline`` never raises
        (the caller learns the episode itself when the queue is full).

        Raises:
            LearningQueueFullError: Under ``reject`` / ``block`` when there is no room; nothing
                has been stored, so the completion can be retried.
        """
        if self._mode != "background" or self._learning.backpressure == "inline":
            return
        policy = self._learning.backpressure
        if policy == "reject" and not self._queue.full():
            return
        if policy == "block" and self._queue.wait_for_room(self._learning.block_timeout_seconds):
            return
        with self._lock:
            self._rejected += 1
        waited = (
            f" after waiting {self._learning.block_timeout_seconds:g} s"
            if policy == "block"
            else ""
        )
        raise LearningQueueFullError(
            f"the learning queue is full ({self._queue.maxsize} episodes){waited}; the episode "
            "was not stored. Retry later, call wait_for_learning(), or raise "
            "MemoryConfig.learning.queue_size / learning.workers, or use "
            "learning.backpressure='inline'"
        )

    def assess(self, episode: Episode) -> Episode:
        """Return the episode with its reward and reflection filled in.

        Raises:
            EpisodeQualityError: When the optional quality gate (``learning.quality_threshold``)
                scores the episode below the threshold; nothing has been stored.
        """
        if self._plugins is None:
            reward = self._scorer.score(episode)
        else:
            reward = self._plugins.compute_reward(episode, self._config)
        reflection = self._reflector.reflect(episode)
        if self._plugins is not None:
            reflection = _with_extra_items(
                reflection,
                self._plugins.reflection_items(episode.model_copy(update={"reward": reward})),
            )
        scored = episode.model_copy(update={"reward": reward, "reflection": reflection})
        threshold = self._learning.quality_threshold
        if threshold is not None:
            findings = len(self.extract(scored)) + len(heuristic_candidates(scored))
            quality = quality_score(scored, reflection, findings)
            if quality < threshold:
                raise EpisodeQualityError(
                    f"episode {episode.episode_id} scored {quality:.2f} on the quality gate, "
                    f"below learning.quality_threshold={threshold:g}; it was not stored and "
                    "is still in progress. Log more informative steps and complete it again, "
                    "delete it, or lower/disable the threshold (None turns the gate off)",
                    quality=quality,
                    threshold=threshold,
                )
        return scored

    def submit(self, episode: Episode) -> bool:
        """Learn from a stored, completed episode.

        Runs on a worker, or here when the queue is full (``inline`` policy) or in
        ``inline`` mode. In ``external`` and ``process`` modes nothing happens: the episode
        stays unlearned for a learner (`learn_pending`). Never raises: a failure is logged
        and counted, and the episode stays unlearned for `resume`.

        Returns:
            True when the episode was learned here, before returning (its ``pattern_ids``
            are then set); False when it was queued for a worker or left to a learner.
        """
        if self._mode in _ELSEWHERE:
            return False
        if self._mode == "background" and not self._closed and self._queue.put(episode):
            return False
        with self._lock:
            self._inline += 1
        self._learn_safely(episode)
        return True

    def resume(self) -> None:
        """Re-queue completed episodes whose learning never ran (crash, unfinished close).

        The backlog is queued even beyond ``queue_size``; in ``inline`` mode it is learned
        here, before returning; in ``external`` and ``process`` modes it is left to the learners.
        """
        if self._mode in _ELSEWHERE:
            return
        ids = self._store.unlearned_episode_ids(self._namespace)
        if ids:
            logger.info("re-queueing %d unlearned episode(s) of %r", len(ids), self._namespace)
        if self._mode == "background":
            for episode_id in ids:
                self._queue.put(episode_id, force=True)
            return
        for start in range(0, len(ids), self._learning.batch_size):
            chunk = ids[start : start + self._learning.batch_size]
            failed = self._learn_queued(list(chunk))
            with self._lock:
                self._inline_processed += len(chunk) - failed
                self._inline_failed += failed

    def wait(self, timeout: float | None = None) -> bool:
        """Block until all queued learning work is done; False on timeout."""
        return self._queue.join(timeout)

    def stats(self) -> LearningStats:
        """A snapshot of the queue counters (``processed`` / ``failed`` include inline work)."""
        counters = self._queue.counters()
        with self._lock:
            return LearningStats(
                queued=counters.queued,
                in_flight=counters.in_flight,
                processed=counters.processed + self._inline_processed,
                failed=counters.failed + self._inline_failed,
                rejected=self._rejected,
                inline=self._inline,
            )

    def close(self) -> None:
        """Drain the queue for up to ``learning.close_timeout_seconds`` and stop the workers.

        Episodes still waiting after that stay marked unlearned in the database; the next
        memory opened on it re-queues them (`resume`), so nothing is lost.
        """
        if self._closed:
            return
        self._closed = True
        abandoned = self._queue.close(self._learning.close_timeout_seconds)
        if abandoned:
            logger.warning(
                "closing with %d episode(s) of %r not learned yet; they stay marked unlearned "
                "and are re-queued when a memory next opens this database",
                len(abandoned),
                self._namespace,
            )

    # ---------------------------------------------------------- effectiveness

    def record_application(
        self, pattern_id: UUID, episode_id: UUID | None, helped: bool, reward_delta: float | None
    ) -> Pattern:
        """Record that a pattern was applied and whether it helped; return it updated.

        When ``episode_id`` names an episode that retrieved the pattern, its completion does
        not count the application a second time.

        Raises:
            PatternNotFoundError: If the pattern does not exist in the namespace.
            InvalidInputError: If ``reward_delta`` is not a finite number.
        """
        if reward_delta is not None and not math.isfinite(reward_delta):
            raise InvalidInputError(f"reward_delta must be a finite number, got {reward_delta!r}")
        updated = self._store.update_patterns(
            self._namespace,
            [pattern_id],
            lambda p: record_application(p, bool(helped), reward_delta),
        )
        if not updated:
            raise PatternNotFoundError(pattern_id, self._namespace)
        if episode_id is not None:
            self._remember_applied([(pattern_id, episode_id)])
        return updated[0]

    def _remember_applied(self, pairs: Sequence[tuple[UUID, UUID]]) -> None:
        with self._lock:
            for pair in pairs:
                self._applied[pair] = None
            while len(self._applied) > _MAX_APPLIED:
                self._applied.popitem(last=False)

    def record_retrievals(self, pattern_ids: Sequence[UUID]) -> list[Pattern]:
        """Count one retrieval for each listed pattern (unknown ids are skipped)."""
        return self._store.update_patterns(self._namespace, pattern_ids, record_retrieval)

    # ------------------------------------------------------------- queries

    def extract(self, episode: Episode) -> list[Pattern]:
        """The patterns this service's extractors find in one episode (no storage).

        An extractor that raises is logged and counted in `extractor_errors`; the patterns
        of the other extractors are kept.
        """
        return extract_patterns(
            episode, self._learning, self.extractors, on_error=self._extractor_failed
        )

    @property
    def extractor_errors(self) -> dict[str, int]:
        """How many times each extractor (by name) raised."""
        with self._lock:
            return dict(self._extractor_errors)

    def _extractor_failed(self, extractor: PatternExtractor, exc: Exception) -> None:
        name = getattr(extractor, "name", type(extractor).__name__)
        logger.error("pattern extractor %r failed; its patterns are skipped", name, exc_info=exc)
        with self._lock:
            self._extractor_errors[name] = self._extractor_errors.get(name, 0) + 1

    def heuristics_for(self, context: TaskContext, limit: int = 5) -> list[Heuristic]:
        """Learned heuristics for a task context, best first by relevance x confidence.

        Only heuristics backed by ``learning.heuristic_min_samples`` episodes and with
        confidence of at least ``learning.heuristic_min_confidence`` are returned.
        """
        if limit <= 0:
            raise InvalidInputError("limit must be >= 1")
        return rank_heuristics(
            self._store.list_heuristics(self._namespace),
            context,
            min_samples=self._learning.heuristic_min_samples,
            min_confidence=self._learning.heuristic_min_confidence,
            limit=limit,
        )

    # ------------------------------------------------------------- relearning

    def relearn(
        self,
        *,
        episode_ids: Sequence[UUID] | None = None,
        pending_only: bool = False,
        rebuild: bool = False,
        progress: RelearnProgress | None = None,
        batch_size: int = 500,
    ) -> RelearnReport:
        """Run extraction again over stored episodes, here in the caller; idempotent.

        Every completed episode by default (or the listed ``episode_ids``, or with
        ``pending_only`` those whose extraction never ran) is learned again, with the
        extractors installed now. An episode is never counted twice in a pattern or heuristic
        (the store checks its links), so new extractors add their findings and a second run
        changes nothing. Effectiveness is only updated for episodes learned for the first time.
        ``rebuild`` deletes the namespace's patterns and heuristics first and learns them from
        scratch; patterns that come back (same kind and similarity key) keep the effectiveness
        record of the pattern they replace. A failing episode is logged, counted in the report,
        and (if it was never learned) stays unlearned.

        Args:
            episode_ids: Only these episodes, in this order.
            pending_only: Only episodes whose extraction never ran (e.g. after a crash).
            rebuild: Delete patterns and heuristics first and learn everything again.
            progress: Called with (episodes done, episodes selected), first with (0, total).
            batch_size: Episodes read per query.

        Raises:
            InvalidInputError: For conflicting options, a bad ``batch_size`` or an episode still
                in progress.
            EpisodeNotFoundError: A listed episode does not exist.
            StorageError: The database failed while selecting or deleting.
        """
        check_relearn_options(episode_ids, pending_only, rebuild)
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
        started = time.perf_counter()
        store, namespace = self._store, self._namespace
        stored = store.list_patterns(namespace)
        patterns_before = pattern_counts(stored)
        heuristics_before = heuristic_counts(store.list_heuristics(namespace))
        first_time = set(store.unlearned_episode_ids(namespace))
        kept: EffectivenessByKey = {}
        deleted = (0, 0)
        if rebuild:
            kept = effectiveness_by_key(stored)
            # Unlearned first, so a rebuild cut short by a crash finishes on the next open;
            # again after deleting, for episodes learned meanwhile into deleted patterns.
            store.mark_unlearned(namespace)
            deleted = (store.delete_patterns(namespace), store.delete_heuristics(namespace))
            store.mark_unlearned(namespace)
        total, episodes = select_episodes(
            store,
            namespace,
            episode_ids=episode_ids,
            pending_only=pending_only or rebuild,
            batch_size=batch_size,
        )
        logger.info("re-learning %d episode(s) of %r", total, namespace)
        learned = failed = 0
        if progress is not None:
            progress(0, total)
        for episode in episodes:
            try:
                self._learn(episode, first_time=episode.episode_id in first_time, restore=kept)
            except Exception:
                logger.exception("re-learning failed for episode %s", episode.episode_id)
                failed += 1
            else:
                learned += 1
            if progress is not None:
                progress(learned + failed, total)
        patterns_after = pattern_counts(store.list_patterns(namespace))
        heuristics_after = heuristic_counts(store.list_heuristics(namespace))
        base_patterns = {} if rebuild else patterns_before
        base_heuristics = {} if rebuild else heuristics_before
        patterns_created, patterns_updated = count_changes(base_patterns, patterns_after)
        heuristics_created, heuristics_updated = count_changes(base_heuristics, heuristics_after)
        return RelearnReport(
            namespace=namespace,
            rebuild=rebuild,
            episodes_total=total,
            episodes_learned=learned,
            episodes_failed=failed,
            patterns_before=len(patterns_before),
            patterns_after=len(patterns_after),
            patterns_created=patterns_created,
            patterns_updated=patterns_updated,
            patterns_deleted=deleted[0],
            heuristics_before=len(heuristics_before),
            heuristics_after=len(heuristics_after),
            heuristics_created=heuristics_created,
            heuristics_updated=heuristics_updated,
            heuristics_deleted=deleted[1],
            seconds=time.perf_counter() - started,
        )

    # ------------------------------------------------------------- learning

    def learn_pending(
        self,
        *,
        limit: int | None = None,
        batch_size: int | None = None,
        stop: threading.Event | None = None,
    ) -> LearnReport:
        """Claim, learn and mark learned the namespace's unlearned episodes, batch by batch.

        Runs here, in the caller, until none is left (or ``limit`` episodes were handled, or
        ``stop`` is set: the batch under way is finished first). Any number of processes may
        run it at once against one database; each batch is one transaction, and an episode is
        learned by exactly one of them (see `memory_core.learning.learner`). An episode that
        fails is logged, counted, left unlearned and not claimed again by this service.

        Raises:
            InvalidInputError: For ``limit`` or ``batch_size`` below 1.
            StorageError: When the database fails while claiming.
        """
        if limit is not None and limit < 1:
            raise InvalidInputError(f"limit must be >= 1, got {limit}")
        if batch_size is not None and batch_size < 1:
            raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
        size = batch_size or self._learning.batch_size
        started = time.perf_counter()
        learned = failed = batches = 0
        while limit is None or learned + failed < limit:
            if stop is not None and stop.is_set():
                break
            want = size if limit is None else min(size, limit - learned - failed)
            done, lost, claimed = self._learn_claimed(want)
            if not claimed:
                break
            learned += done
            failed += lost
            batches += 1
        return LearnReport(
            namespace=self._namespace,
            episodes_learned=learned,
            episodes_failed=failed,
            batches=batches,
            seconds=time.perf_counter() - started,
        )

    def _learn_claimed(self, limit: int) -> tuple[int, int, int]:
        """Claim and learn one batch: (learned, failed, claimed)."""
        with self._lock:
            exclude = sorted(self._claim_failed)
        if not isinstance(self._store, BatchLearningStore):
            ids = [
                i for i in self._store.unlearned_episode_ids(self._namespace) if i not in exclude
            ]
            found = {
                e.episode_id: e for e in self._store.get_episodes(self._namespace, ids[:limit])
            }
            episodes = [found[i] for i in ids[:limit] if i in found]  # oldest first
            lost = self._learn_episodes([(e, True) for e in episodes if e.is_complete])
            return self._claim_outcome(len(episodes), lost)
        claimed: list[Episode] = []

        def claim(tx: LearningTransaction) -> list[LearnItem]:
            claimed[:] = tx.claim_unlearned(limit, exclude=exclude)
            pause = Pause()
            items = []
            for episode in claimed:
                pause()
                items.append(self._prepare(episode, True, None))
            return items

        try:
            return len(self._run_batch(claim)), 0, len(claimed)
        except Exception:
            if not claimed:
                raise
            logger.warning("a learning batch failed; learning its episodes one by one")
        return self._claim_outcome(len(claimed), self._learn_each([(e, True) for e in claimed]))

    def _claim_outcome(self, claimed: int, lost: Sequence[_Failure]) -> tuple[int, int, int]:
        """(learned, failed, claimed) of a claimed batch; remember what not to claim again.

        An episode that failed on its own is not claimed again by this service. A database
        error is not the episode's fault: it stays claimable, and when every episode of the
        batch met one, the error is raised (a follower waits and tries again).
        """
        broken = [e for e, exc in lost if not isinstance(exc, StorageError)]
        if lost and not broken and len(lost) == claimed:
            raise lost[-1][1]
        with self._lock:
            self._claim_failed.update(e.episode_id for e in broken)
        return claimed - len(lost), len(lost), claimed

    def _learn_safely(self, episode: Episode) -> None:
        if self._learn_episodes([(episode, True)]):
            with self._lock:
                self._inline_failed += 1
        else:
            with self._lock:
                self._inline_processed += 1

    def _learn_queued(self, items: list[Episode | UUID]) -> int:
        """Learn a batch of queued episodes (or ids of stored ones); return the failures."""
        ids = [i for i in items if isinstance(i, UUID)]
        loaded = {e.episode_id: e for e in self._store.get_episodes(self._namespace, ids)}
        episodes = [i if isinstance(i, Episode) else loaded.get(i) for i in items]
        work = [(e, True) for e in episodes if e is not None and e.is_complete]
        # Callers' searches go first while the queue has room; a queue filling up means
        # learning needs its share of the interpreter back.
        give_way = self._queue.counters().queued < self._queue.maxsize // 2
        return len(self._learn_episodes(work, give_way=give_way))

    def _learn_episodes(
        self,
        work: Sequence[tuple[Episode, bool]],
        *,
        restore: EffectivenessByKey | None = None,
        give_way: bool = False,
    ) -> list[_Failure]:
        """Learn (episode, first time) pairs in one transaction; return those that failed.

        If the batch fails, its episodes are learned one by one, so only the episodes that
        fail on their own are returned (each logged). ``give_way``: extraction waits while a
        caller's search runs (see `memory_core._priority`).
        """
        if not work:
            return []
        if not isinstance(self._store, BatchLearningStore):
            return self._learn_each(work, restore)
        items: list[LearnItem] = []
        pause = Pause(give_way=give_way)
        for episode, first_time in work:
            pause()  # extraction is pure Python: let other threads run now and then
            items.append(self._prepare(episode, first_time, restore))
        if len(items) == 1:
            return self._learn_each(work, restore, items)
        try:
            self._run_batch(lambda _tx: items)
        except Exception:
            logger.warning("a learning batch failed; learning its episodes one by one")
            return self._learn_each(work, restore, items)
        return []

    def _learn_each(
        self,
        work: Sequence[tuple[Episode, bool]],
        restore: EffectivenessByKey | None = None,
        items: Sequence[LearnItem] | None = None,
    ) -> list[_Failure]:
        """Learn episodes one transaction each; return (and log) those that failed."""
        failed: list[_Failure] = []
        for number, (episode, first_time) in enumerate(work):
            try:
                if not isinstance(self._store, BatchLearningStore):
                    self._learn(episode, first_time=first_time, restore=restore)
                    continue
                one = [items[number] if items else self._prepare(episode, first_time, restore)]
                self._run_batch(lambda _tx: one)  # noqa: B023 - called before the next turn
            except Exception as exc:
                logger.exception(
                    "learning failed for episode %s; it stays unlearned and is retried later",
                    episode.episode_id,
                )
                failed.append((episode, exc))
        return failed

    def _prepare(
        self, episode: Episode, first_time: bool, restore: EffectivenessByKey | None
    ) -> LearnItem:
        """Extract an episode's patterns and heuristic candidates (no database writes)."""
        patterns = self.extract(episode)
        if restore:
            patterns = with_effectiveness(patterns, restore)
        if first_time and episode.retrieved_pattern_ids:
            # Read now, not inside the transaction.
            self._baseline(episode.context.domain, skip=episode.episode_id)
        return LearnItem(episode, patterns, heuristic_candidates(episode), first_time)

    def _run_batch(
        self, select: Callable[[LearningTransaction], list[LearnItem]]
    ) -> list[LearnedItem]:
        """Learn the items ``select`` returns in one learning transaction, then announce them."""
        store: BatchLearningStore = self._store  # type: ignore[assignment]
        with self._batch_lock:
            with self._lock:
                baselines = dict(self._baselines)
            try:
                with store.learning_transaction(self._namespace) as tx:
                    items = select(tx)
                    learned = self._batcher.learn(tx, items, self._first_learning) if items else []
            except BaseException:
                self._batcher.failed()
                with self._lock:
                    self._baselines = baselines
                raise
            self._batcher.committed()
        pause = Pause()
        for item in learned:
            pause()  # the memory's caches and pattern ranking are updated in Python
            self._announce(item)
        return learned

    def _first_learning(self, episode: Episode) -> tuple[list[UUID], Callable[[Pattern], Pattern]]:
        """Effectiveness bookkeeping of an episode learned for the first time.

        Returns the retrieved patterns whose application is to be counted and the update
        counting it; updates the domain's reward baseline.
        """
        with self._lock:
            ids = [
                pid
                for pid in dict.fromkeys(episode.retrieved_pattern_ids)
                if (pid, episode.episode_id) not in self._applied
            ]
        helped = outcome_weight(episode) >= 0.5
        delta = self._reward_delta(episode) if ids else 0.0
        self._observe_reward(episode)
        return ids, lambda p: record_application(p, helped, delta, when=episode.end_time)

    def _announce(self, item: LearnedItem) -> None:
        """After commit: update the episode object and tell the memory and plugins."""
        episode = item.episode
        if item.applied:
            self._remember_applied([(pid, episode.episode_id) for pid in item.applied])
        pattern_ids = [p.pattern_id for p in item.patterns]
        heuristic_ids = [h.heuristic_id for h in item.heuristics]
        episode.pattern_ids = list(dict.fromkeys([*episode.pattern_ids, *pattern_ids]))
        episode.heuristic_ids = list(dict.fromkeys([*episode.heuristic_ids, *heuristic_ids]))
        try:
            if self._on_learned is not None:
                self._on_learned(episode, item.patterns)
            if self._plugins is not None:
                self._plugins.notify(
                    "patterns_learned",
                    episode=episode,
                    patterns=item.patterns,
                    namespace=self._namespace,
                )
        except Exception:
            logger.exception("announcing episode %s as learned failed", episode.episode_id)

    def _learn(
        self,
        episode: Episode,
        *,
        first_time: bool = True,
        restore: EffectivenessByKey | None = None,
    ) -> None:
        """Extract, merge and link one episode's patterns and heuristics.

        ``first_time=False`` (an episode learned before, learned again): its result is not
        counted again as an application of the patterns it retrieved. ``restore`` gives new
        patterns the effectiveness record kept for their (kind, similarity key).
        """
        episode_id = episode.episode_id
        patterns = self.extract(episode)
        if restore:
            patterns = with_effectiveness(patterns, restore)
        stored = self._store.merge_patterns(
            self._namespace,
            episode_id,
            patterns,
            PatternMerger(episode_id, self._learning.merge_threshold),
        )
        heuristics = self._learn_heuristics(episode)
        if first_time:
            self._apply_to_retrieved(episode)
        pattern_ids = list(dict.fromkeys(p.pattern_id for p in stored))
        heuristic_ids = list(dict.fromkeys(h.heuristic_id for h in heuristics))
        self._store.mark_learned(self._namespace, episode_id, pattern_ids, heuristic_ids)
        if self._on_learned is not None:
            self._on_learned(episode, stored)
        if self._plugins is not None:
            self._plugins.notify(
                "patterns_learned", episode=episode, patterns=stored, namespace=self._namespace
            )
        episode.pattern_ids = list(dict.fromkeys([*episode.pattern_ids, *pattern_ids]))
        episode.heuristic_ids = list(dict.fromkeys([*episode.heuristic_ids, *heuristic_ids]))
        if first_time:
            self._observe_reward(episode)

    def _learn_heuristics(self, episode: Episode) -> list[Heuristic]:
        candidates = heuristic_candidates(episode)
        if candidates and outcome_weight(episode) < 0.5:
            # A failed episode only counts against rules learned from successes that ended
            # before it did: decided by time, not by learning order, so learning the episode
            # again (relearn, rebuild) decides the same way.
            until = episode.end_time
            known = {
                heuristic_key(h)
                for h in self._store.list_heuristics(self._namespace)
                if until is None or h.created_at <= until
            }
            candidates = [c for c in candidates if heuristic_key(c) in known]
        if not candidates:
            return []
        return self._store.merge_heuristics(
            self._namespace,
            candidates,
            HeuristicMerger(episode.episode_id),
            episode_id=episode.episode_id,
        )

    def _apply_to_retrieved(self, episode: Episode) -> None:
        """Count the episode's result as an application of every pattern retrieved for it."""
        with self._lock:
            ids = [
                pid
                for pid in dict.fromkeys(episode.retrieved_pattern_ids)
                if (pid, episode.episode_id) not in self._applied
            ]
        if not ids:
            return
        helped = outcome_weight(episode) >= 0.5
        delta = self._reward_delta(episode)
        self._store.update_patterns(
            self._namespace,
            ids,
            lambda p: record_application(p, helped, delta, when=episode.end_time),
        )
        self._remember_applied([(pid, episode.episode_id) for pid in ids])

    def _reward_delta(self, episode: Episode) -> float:
        """The episode's reward minus the recent mean reward of its domain, in [-1, 1]."""
        total = episode.reward.total if episode.reward else 0.0
        mean, count = self._baseline(episode.context.domain, skip=episode.episode_id)
        return 0.0 if count == 0 else max(-1.0, min(1.0, total - mean))

    def _baseline(self, domain: str, *, skip: UUID | None = None) -> tuple[float, int]:
        """The recent mean reward of a domain and how many rewards it averages (cached)."""
        with self._lock:
            baseline = self._baselines.get(domain)
        if baseline is None:
            recent = self._store.list_episodes(
                self._namespace, EpisodeQuery(domain=domain, completed=True, limit=21)
            )
            rewards = [
                e.reward.total for e in recent if e.reward is not None and e.episode_id != skip
            ][:20]
            baseline = (sum(rewards) / len(rewards) if rewards else 0.0, len(rewards))
            with self._lock:
                baseline = self._baselines.setdefault(domain, baseline)
        return baseline

    def _observe_reward(self, episode: Episode) -> None:
        if episode.reward is None:
            return
        with self._lock:
            known = self._baselines.get(episode.context.domain)
            if known is None:
                return
            mean, count = known
            count = min(count + 1, _BASELINE_WINDOW)
            self._baselines[episode.context.domain] = (
                mean + (episode.reward.total - mean) / count,
                count,
            )
