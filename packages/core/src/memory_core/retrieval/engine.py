"""The retrieval engine: keeps the episode index fresh and answers searches.

One engine serves one namespace of one store. The index is built lazily on the first
search (keyset-paged over the completed episodes), updated in place when this process
completes or deletes an episode, and brought up to date with other processes' changes
through the store's change feed at most every ``refresh_interval_seconds`` (no rescans).

With ``retrieval.backend = "database"`` (or ``auto`` on a large PostgreSQL namespace) there
is no index here: the database search index picks candidates and `DatabaseRanker` ranks
them the same way (see `memory_core.retrieval.database`); episodes others complete are
searchable as soon as they commit.

On the in-memory backend, searches are answered without reading the store: the episodes
returned come from an in-process cache of completed episodes (their JSON, up to
``episode_cache_size`` of them, filled when episodes complete here and when the index is
built or fed). Nothing on this
path releases the GIL (no I/O, no compression): with learning threads busy, every release
can cost the caller a whole thread switch interval (5 ms) before it runs again. A cached
episode is its completed state; the links learning adds later (``pattern_ids``,
``heuristic_ids``) are not re-read for it (``get_episode`` has them). Only episodes not in
the cache are read from the store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from uuid import UUID

from cachetools import LRUCache

from memory_core._priority import serves_caller
from memory_core.config import MemoryConfig
from memory_core.embeddings import Embedder
from memory_core.errors import ChangeFeedTrimmedError, ConfigurationError, MemoryCoreError
from memory_core.models import (
    Episode,
    OutcomeKind,
    Pattern,
    RetrievedEpisode,
    RetrievedPattern,
    TaskContext,
)
from memory_core.retrieval.budget import index_budget
from memory_core.retrieval.database import DatabaseRanker
from memory_core.retrieval.filters import EpisodeFilters
from memory_core.retrieval.index import EpisodeHit, EpisodeIndex, episode_text
from memory_core.retrieval.patterns import PatternRanker
from memory_core.storage import ChangeEntity, EpisodeQuery, EpisodeStore
from memory_core.storage.search_index import SearchIndex

__all__ = ["EpisodeFilters", "RetrievalEngine"]

logger = logging.getLogger("memory_core.retrieval")

_PAGE = 1_000
_FEED_PAGE = 10_000
_MAX_COMPLETED = 1_000
"""Completions waiting for the next search beyond which completing indexes them itself."""
_GAP_SECONDS = 10.0
"""How long a skipped change-feed sequence number is re-checked (late commits)."""
_MAX_GAPS = 1_000


class RetrievalEngine:
    """Ranks the completed episodes and the patterns of one namespace (thread-safe).

    Args:
        config: Memory configuration (``config.retrieval`` holds the knobs).
        store: The store to read episodes, patterns and the change feed from.
        namespace: The namespace searched.
        embedder: Optional embedder adding semantic similarity (vectors are stored with
            the episodes, per embedder ``name``).
        pending: Returns a completed episode not yet written to the store (or None); asked
            before the store for episodes missing from the cache.
        flush_pending: Writes such episodes to the store; called before the index is
            built from the store, and before a database search when some are waiting.
        completions_pending: How many completed episodes wait to be written (the database
            backend flushes them first, so they are searchable at once).

    Raises:
        ConfigurationError: ``retrieval.backend = "database"`` on a store without a
            database search index (not PostgreSQL), or with an embedder.
    """

    def __init__(
        self,
        config: MemoryConfig,
        store: EpisodeStore,
        namespace: str,
        *,
        embedder: Embedder | None = None,
        pending: Callable[[UUID], Episode | None] | None = None,
        flush_pending: Callable[[], None] | None = None,
        completions_pending: Callable[[], int] | None = None,
    ) -> None:
        self._pending_episode = pending
        self._flush_pending = flush_pending
        self._completions_pending = completions_pending
        self._config = config.retrieval
        self._search_index = getattr(store, "search_index", None)
        if config.retrieval.backend == "database":
            if self._search_index is None:
                raise ConfigurationError(
                    'retrieval.backend = "database" needs a PostgreSQL store (the database '
                    'search index); use "memory" or "auto" with this database'
                )
            if embedder is not None:
                raise ConfigurationError(
                    'retrieval.backend = "database" ranks without embeddings; use "memory" '
                    'or "auto" (which keeps the in-memory index) with an embedder'
                )
        self._database: DatabaseRanker | None = None
        self._decided = False
        self._bytes_per_episode = 0.0
        self._store = store
        self._namespace = namespace
        self._embedder = embedder
        self._lock = threading.RLock()
        self._index: EpisodeIndex | None = None
        self._patterns: dict[UUID, Pattern] | None = None
        self._ranker: PatternRanker | None = None
        self._seq = 0
        self._following = False  # True once _seq is a valid position in the change feed
        self._gaps: dict[int, float] = {}
        self._checked = 0.0
        self._episodes: LRUCache[UUID, str] | None = (
            LRUCache(maxsize=self._config.episode_cache_size)
            if self._config.episode_cache_size > 0
            else None
        )
        # Completed here since the last search: indexed by the next one, so that completing
        # never waits for a search in progress (the async facade completes on the event loop).
        self._completed: deque[tuple[Episode, Sequence[float] | None, str]] = deque()
        self._pending: Counter[UUID] = Counter()
        self._pending_episodes: Counter[UUID] = Counter()
        self._pending_lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False

    # ------------------------------------------------------------ freshness

    def _ensure_fresh(self) -> EpisodeIndex:
        """Build the index on first use, else apply the change feed if it is due."""
        self._index_completed()
        if self._index is None:
            self._build()
        else:
            self._refresh_if_due()
        assert self._index is not None
        return self._index

    def _refresh_if_due(self) -> None:
        if self._following and (
            time.monotonic() - self._checked >= self._config.refresh_interval_seconds
        ):
            self._apply_changes()

    def _build(self) -> None:
        if self._flush_pending is not None:
            self._flush_pending()
        index = EpisodeIndex(self._config)
        seq = self._store.last_change_seq(self._namespace)
        self._checked = time.monotonic()
        until = None
        while True:
            page = self._store.list_episodes(
                self._namespace, EpisodeQuery(completed=True, until=until, limit=_PAGE)
            )
            fresh = [e for e in page if e.episode_id not in index]
            self._add(index, fresh)
            if len(page) < _PAGE or not fresh:
                break
            # keyset paging (robust to concurrent deletes); ties are re-read and skipped
            until = min(e.start_time for e in page) + timedelta(microseconds=1)
        self._index = index
        self._bytes_per_episode = index.nbytes / max(len(index), 1)
        self._seq = seq
        self._following = True
        self._gaps = {}
        self._patterns = None
        self._ranker = None
        self._apply_changes()

    def _apply_changes(self) -> None:
        """Apply the change feed since ``_seq`` (episode changes only once indexed)."""
        self._checked = time.monotonic()
        episodes: dict[UUID, None] = {}
        patterns_changed: dict[UUID, None] = {}
        patterns_deleted: set[UUID] = set()
        now = time.monotonic()
        self._gaps = {seq: seen for seq, seen in self._gaps.items() if now - seen < _GAP_SECONDS}
        cursor = min(self._gaps, default=self._seq + 1) - 1
        # A feed read in commit order has no late entries, so it can leave out what this
        # view does not follow (heuristics always; patterns until they are searched).
        in_order = bool(getattr(self._store, "feed_in_commit_order", False))
        wanted: list[ChangeEntity] = []
        if self._index is not None:
            wanted.append("episode")
        if self._patterns is not None:
            wanted.append("pattern")
        while True:
            try:
                changes = (
                    self._store.changes_since(
                        self._namespace, cursor, limit=_FEED_PAGE, entities=wanted
                    )
                    if in_order
                    else self._store.changes_since(self._namespace, cursor, limit=_FEED_PAGE)
                )
            except ChangeFeedTrimmedError as exc:
                self._restart(str(exc))
                return
            for change in changes:
                cursor = change.seq
                if change.entity == "namespace":  # deleted (and maybe written to since)
                    self._restart(f"namespace {self._namespace!r} was deleted")
                    return
                if change.seq <= self._seq and self._gaps.pop(change.seq, None) is None:
                    continue  # already applied
                if change.seq > self._seq:
                    if not in_order:
                        # sequence numbers skipped here may belong to transactions that
                        # commit later (PostgreSQL draws them at insert): re-check them
                        start = max(self._seq + 1, change.seq - _MAX_GAPS)
                        for missing in range(start, change.seq):
                            self._gaps[missing] = now
                    self._seq = change.seq
                if change.entity == "episode":
                    if change.op == "delete":
                        self._forget(change.entity_id)
                        episodes.pop(change.entity_id, None)
                    elif self._index is not None and change.entity_id not in self._index:
                        episodes[change.entity_id] = None
                    # else: an indexed episode changes only by learning links (module doc)
                elif change.entity == "pattern":
                    if change.op == "delete":
                        patterns_deleted.add(change.entity_id)
                        patterns_changed.pop(change.entity_id, None)
                    else:
                        patterns_changed[change.entity_id] = None
                        patterns_deleted.discard(change.entity_id)
            if len(changes) < _FEED_PAGE:
                break
        if episodes and self._index is not None:
            self._add(self._index, self._store.get_episodes(self._namespace, list(episodes)))
        if self._patterns is not None and (patterns_changed or patterns_deleted):
            for pattern_id in patterns_deleted:
                self._patterns.pop(pattern_id, None)
            if patterns_changed:
                for pattern in self._store.get_patterns(self._namespace, list(patterns_changed)):
                    self._patterns[pattern.pattern_id] = pattern
            self._ranker = None
        if self._index is not None and self._index.dead_slots > max(1_000, len(self._index) // 4):
            self._index = None  # reclaim tombstones: rebuilt on the next search
            self._build()

    def _restart(self, reason: str) -> None:
        """Rebuild what follows the feed, which cannot be replayed from our position."""
        logger.info("%s; rebuilding the retrieval index of %r", reason, self._namespace)
        self._patterns = None
        self._ranker = None
        self._gaps = {}
        if self._episodes is not None:
            self._episodes.clear()
        if self._index is not None:
            self._index = None
            self._build()
        else:
            self._following = False  # the next search_patterns reloads and re-positions

    def _add(self, index: EpisodeIndex, episodes: Sequence[Episode]) -> None:
        complete = [e for e in episodes if e.is_complete]
        vectors = self._vectors(complete) if self._embedder is not None else {}
        cache = self._episodes
        for episode in complete:
            index.add(episode, vectors.get(episode.episode_id))
            if cache is not None and len(cache) < cache.maxsize:  # never evict newer ones
                cache[episode.episode_id] = episode.model_dump_json()

    def _vectors(self, episodes: Sequence[Episode]) -> dict[UUID, list[float]]:
        """Stored vectors for the episodes; missing ones are embedded and stored."""
        embedder = self._embedder
        if embedder is None or not episodes:
            return {}
        ids = [e.episode_id for e in episodes]
        vectors = self._store.get_episode_embeddings(self._namespace, embedder.name, ids)
        missing = [e for e in episodes if e.episode_id not in vectors]
        if missing:
            try:
                made = embedder.embed([episode_text(e) for e in missing])
                new = {e.episode_id: list(v) for e, v in zip(missing, made, strict=True)}
                vectors.update(new)
                self._store.put_episode_embeddings(self._namespace, embedder.name, new)
            except MemoryCoreError as exc:
                logger.warning("could not store episode embeddings: %s", exc)
        return vectors

    def _forget(self, episode_id: UUID) -> None:
        if self._index is not None:
            self._index.remove(episode_id)
        if self._episodes is not None:
            self._episodes.pop(episode_id, None)

    # -------------------------------------------------------------- episodes

    @serves_caller
    def search_episodes(
        self,
        task_description: str,
        context: TaskContext,
        limit: int,
        filters: EpisodeFilters,
        *,
        include_below_floor: bool = False,
        diversify: bool = True,
    ) -> list[RetrievedEpisode]:
        """Rank completed episodes for a task (best first); see "How retrieval ranks".

        ``diversify=False`` skips the diversity re-ranking (used to gather plan evidence).
        """
        database = self._database_ranker()
        if database is not None:
            hits = self._from_database(
                lambda: database.search(
                    task_description,
                    context,
                    limit,
                    filters,
                    include_below_floor=include_below_floor,
                    diversify=diversify,
                )
            )
        else:
            query_vector = self._query_vector(task_description)
            hits = self._from_memory(
                lambda index: index.search(
                    task_description,
                    context,
                    limit,
                    filters,
                    include_below_floor=include_below_floor,
                    query_vector=query_vector,
                    semantic_enabled=self._embedder is not None,
                    diversify=diversify,
                )
            )
        return self._with_episodes(hits)

    @serves_caller
    def search_by_outcome(
        self,
        task_description: str,
        context: TaskContext,
        limit: int,
        outcomes: Sequence[OutcomeKind],
    ) -> list[RetrievedEpisode]:
        """The best ``limit`` relevant episodes of each outcome kind, kind after kind.

        One ranking pass, undiversified: the evidence ``recommend_plan`` weighs. (From the
        database: one search per kind, which gives the same hits.)
        """
        database = self._database_ranker()
        if database is not None:
            hits = self._from_database(
                lambda: [
                    hit
                    for kind in outcomes
                    for hit in database.search(
                        task_description,
                        context,
                        limit,
                        EpisodeFilters(outcome_kind=kind),
                        diversify=False,
                    )
                ]
            )
        else:
            query_vector = self._query_vector(task_description)
            hits = self._from_memory(
                lambda index: index.search_by_outcome(
                    task_description,
                    context,
                    limit,
                    outcomes,
                    query_vector=query_vector,
                    semantic_enabled=self._embedder is not None,
                )
            )
        return self._with_episodes(hits)

    def _from_database(self, rank: Callable[[], list[EpisodeHit]]) -> list[EpisodeHit]:
        """Hits from the database ranker, once this process's completions are stored."""
        waiting = self._completions_pending() if self._completions_pending else 0
        if waiting and self._flush_pending is not None:
            self._flush_pending()
        return rank()

    def _from_memory(self, rank: Callable[[EpisodeIndex], list[EpisodeHit]]) -> list[EpisodeHit]:
        """Hits from the in-memory index (built or refreshed first), within its budget."""
        with self._lock:
            index = self._ensure_fresh()
            hits = rank(index)
            size = int(len(index) * self._bytes_per_episode)
        index_budget.charge(self, size, int(self._config.memory_budget_mb * 2**20))
        return hits

    def _with_episodes(self, hits: Sequence[EpisodeHit]) -> list[RetrievedEpisode]:
        """The hits with their episodes (hits whose episode is gone are left out)."""
        with self._lock:
            found = self._load([h.episode_id for h in hits])
        if hits and self._config.record_retrievals:
            self._count_retrievals((), [h.episode_id for h in hits])
        return [
            RetrievedEpisode(
                episode=found[h.episode_id],
                score=h.score,
                breakdown=h.breakdown,
                relevance=h.relevance,
                below_floor=h.below_floor,
            )
            for h in hits
            if h.episode_id in found
        ]

    def _query_vector(self, task_description: str) -> list[float] | None:
        if self._embedder is None or not task_description.strip():
            return None
        return self._embedder.embed([task_description])[0]

    def drop_index(self) -> bool:
        """Release the in-memory index (rebuilt on the next search) unless a search runs.

        Called by the process-wide index budget (`memory_core.retrieval.budget`).
        """
        if not self._lock.acquire(blocking=False):
            return False
        try:
            self._index = None  # the change feed is still followed, for the patterns
            if self._episodes is not None:
                self._episodes.clear()
            return True
        finally:
            self._lock.release()

    def _database_ranker(self) -> DatabaseRanker | None:
        """The database ranker when the database backend serves this namespace, else None.

        Decided on the first search (``auto`` looks at the namespace's size then); episodes
        stored before the search index existed are indexed first.
        """
        if not self._decided:
            with self._lock:
                if not self._decided:
                    self._database = self._choose_database()
                    if self._database is not None:
                        self._episodes = None  # episodes are read from the store instead
                    self._decided = True
        return self._database

    def _choose_database(self) -> DatabaseRanker | None:
        backend = self._config.backend
        index = self._search_index
        if backend == "memory" or index is None or (backend == "auto" and self._embedder):
            return None
        self._catch_up(index)
        ranker = DatabaseRanker(self._config, index, self._namespace)
        totals = ranker.totals()
        size = totals.doc_count if totals else 0
        if backend == "database" or size >= self._config.database_min_episodes:
            return ranker
        return None

    def _catch_up(self, index: SearchIndex) -> None:
        """Index the namespace's completed episodes stored before the search index was."""
        with index.reading() as connection:
            missing = index.unindexed(connection, self._namespace)
        for start in range(0, len(missing), _PAGE):
            chunk = [UUID(i) for i in missing[start : start + _PAGE]]
            index.index(self._namespace, self._store.get_episodes(self._namespace, chunk))
        if missing:
            logger.info("indexed %d episodes of %r for search", len(missing), self._namespace)

    def _load(self, ids: Sequence[UUID]) -> dict[UUID, Episode]:
        """Fresh copies of the episodes (from the cache, else one store read)."""
        cache = self._episodes
        found: dict[UUID, Episode] = {}
        missing: list[UUID] = []
        for episode_id in ids:
            cached = cache.get(episode_id) if cache is not None else None
            if cached is not None:
                found[episode_id] = Episode.model_validate_json(cached)
                continue
            pending = self._pending_episode(episode_id) if self._pending_episode else None
            if pending is not None:
                found[episode_id] = pending.model_copy(deep=True)
            else:
                missing.append(episode_id)
        if missing:
            for episode in self._store.get_episodes(self._namespace, missing):
                found[episode.episode_id] = episode
                if cache is not None:
                    cache[episode.episode_id] = episode.model_dump_json()
        return found

    def episode_completed(self, episode: Episode, as_json: str | None = None) -> None:
        """Make a newly completed episode retrievable at once (in this process).

        ``as_json`` is the episode's JSON when the caller has it already. The database
        backend needs nothing: the store indexes episodes as it writes them.
        """
        if self._database is not None:
            return
        vector = None
        if self._embedder is not None:
            try:
                vector = self._embedder.embed([episode_text(episode)])[0]
                self._store.put_episode_embeddings(
                    self._namespace, self._embedder.name, {episode.episode_id: vector}
                )
            except MemoryCoreError as exc:
                logger.warning("could not store the embedding of %s: %s", episode.episode_id, exc)
        self._completed.append((episode, vector, as_json or episode.model_dump_json()))
        if len(self._completed) >= _MAX_COMPLETED:  # no search for a long while
            with self._lock:
                self._index_completed()

    def _index_completed(self) -> None:
        """Index the episodes completed since the last search (under ``_lock``)."""
        while self._completed:
            episode, vector, as_json = self._completed.popleft()
            if self._index is not None:
                self._index.add(episode, vector)
            if self._episodes is not None:
                self._episodes[episode.episode_id] = as_json

    def episode_deleted(self, episode_id: UUID) -> None:
        """Forget a deleted episode."""
        with self._lock:
            self._index_completed()  # a completion still waiting must not come back
            self._forget(episode_id)

    def patterns_changed(self, patterns: Sequence[Pattern]) -> None:
        """Make patterns stored or updated by this process rankable at once."""
        if not patterns:
            return
        with self._lock:
            if self._patterns is None:
                return
            for pattern in patterns:
                self._patterns[pattern.pattern_id] = pattern
            self._ranker = None

    # -------------------------------------------------------------- patterns

    @serves_caller
    def search_patterns(
        self, context: TaskContext, task_description: str | None, limit: int
    ) -> list[RetrievedPattern]:
        """Rank patterns for a context and optional task (best first, deduplicated)."""
        with self._lock:
            self._refresh_if_due()  # patterns alone do not need the episode index
            if self._patterns is None:
                if not self._following:
                    self._seq = self._store.last_change_seq(self._namespace)
                    self._following = True
                    self._checked = time.monotonic()
                self._patterns = {
                    p.pattern_id: p for p in self._store.list_patterns(self._namespace)
                }
                self._ranker = None
            if self._ranker is None:
                self._ranker = PatternRanker(self._patterns.values(), self._config)
            hits = self._ranker.rank(context, task_description, limit)
        if hits and self._config.record_retrievals:
            self._count_retrievals([h.pattern.pattern_id for h in hits])
        return [
            RetrievedPattern(
                pattern=h.pattern.model_copy(deep=True), score=h.score, breakdown=h.breakdown
            )
            for h in hits
        ]

    def _count_retrievals(self, ids: Sequence[UUID], episode_ids: Sequence[UUID] = ()) -> None:
        with self._pending_lock:
            if self._closed:
                return
            self._pending.update(ids)
            self._pending_episodes.update(episode_ids)
            if self._timer is None:
                self._timer = threading.Timer(
                    self._config.retrieval_flush_seconds, self.flush_retrievals
                )
                self._timer.daemon = True
                self._timer.start()

    def flush_retrievals(self) -> None:
        """Write counted retrievals (patterns' ``times_retrieved``, episodes') to the store now.

        Episode counts go to stores that keep them (``record_episode_retrievals``, read by
        retention); one batched write per flush, never one per search.
        """
        with self._pending_lock:
            pending, self._pending = self._pending, Counter()
            episodes, self._pending_episodes = self._pending_episodes, Counter()
            self._timer = None
        record = getattr(self._store, "record_episode_retrievals", None)
        if episodes and record is not None:
            try:
                record(self._namespace, episodes)
            except Exception as exc:  # a background flush must never crash the process
                logger.warning("could not record %d episode retrievals: %s", len(episodes), exc)
        if not pending:
            return

        def bump(pattern: Pattern) -> Pattern:
            stats = pattern.effectiveness
            counted = stats.times_retrieved + pending[pattern.pattern_id]
            return pattern.model_copy(
                update={"effectiveness": stats.model_copy(update={"times_retrieved": counted})}
            )

        try:
            self._store.update_patterns(self._namespace, list(pending), bump)
        except Exception as exc:  # a background flush must never crash the process
            logger.warning("could not record %d pattern retrievals: %s", len(pending), exc)

    # ------------------------------------------------------------------ admin

    def close(self) -> None:
        """Write pending retrieval counts and release the index. Idempotent."""
        with self._pending_lock:
            self._closed = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self.flush_retrievals()
        index_budget.release(self)
        with self._lock:
            self._completed.clear()
            self._index = None
            self._following = False
            self._patterns = None
            self._ranker = None
            if self._episodes is not None:
                self._episodes.clear()
