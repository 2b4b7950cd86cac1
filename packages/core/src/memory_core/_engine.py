"""The one implementation behind both facades (private).

Everything here is synchronous and thread-safe. `SelfLearningMemory` (async) and
`SyncSelfLearningMemory` (blocking) are thin shells over `MemoryEngine`.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar, get_args
from uuid import UUID

import pluggy
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_json

from memory_core._learner_process import LearnerProcess, check_shareable
from memory_core._pruner import BackgroundPruner
from memory_core.config import MemoryConfig
from memory_core.embeddings import Embedder
from memory_core.errors import (
    ConfigurationError,
    EpisodeAlreadyCompletedError,
    EpisodeNotFoundError,
    InvalidInputError,
    PatternNotFoundError,
    PayloadTooLargeError,
    StepOrderError,
)
from memory_core.learning import LearningService, LearnReport, RelearnProgress
from memory_core.models import (
    Episode,
    ExecutionStep,
    Heuristic,
    MemoryStats,
    OutcomeKind,
    Pattern,
    PatternKind,
    RecommendedPlan,
    RelearnReport,
    RetrievedEpisode,
    RetrievedPattern,
    TaskContext,
    TaskOutcome,
    TaskType,
    TokenUsage,
    new_id,
    utcnow,
)
from memory_core.plugins import PluginHost, make_plugin_manager
from memory_core.retrieval import EpisodeFilters, RetrievalEngine
from memory_core.retrieval.plans import recommend_plan
from memory_core.storage import (
    EpisodeQuery,
    EpisodeStore,
    HotCache,
)
from memory_core.storage.base import count_learned_items, count_unlearned
from memory_core.storage.buffer import WriteBehindBuffer
from memory_core.storage.erasure import LifecycleStore
from memory_core.storage.retention import PruneReport, prune

__all__ = ["MemoryEngine", "validate_namespace"]

logger = logging.getLogger("memory_core")

_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,200}$")


def validate_namespace(namespace: str) -> str:
    """Return ``namespace`` if valid, else raise `InvalidInputError`."""
    if not _NAMESPACE_RE.match(str(namespace)):
        raise InvalidInputError(
            f"invalid namespace {namespace!r}: use 1-200 characters of letters, digits "
            "and . _ : @ -"
        )
    return namespace


M = TypeVar("M", bound=BaseModel)


def _coerce(model: type[M], value: object, what: str) -> M:
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise InvalidInputError(f"invalid {what}: {exc}") from exc


class MemoryEngine:
    """Records episodes, hands completed ones to learning, and answers retrieval queries.

    Args:
        config: Configuration (defaults when None).
        namespace: Tenant whose data this engine reads and writes.
        store: A ready store; by default one is opened from ``config.database_url``.
        embedder: Optional embedder adding semantic similarity to retrieval (else the one
            named by ``config.embedder``, if any).
        plugins: Extra plugin objects registered on this memory's plugin manager.
        plugin_manager: Use this plugin manager instead of building one.
    """

    def __init__(
        self,
        config: MemoryConfig | None = None,
        *,
        namespace: str = "default",
        store: EpisodeStore | None = None,
        embedder: Embedder | None = None,
        plugins: Iterable[object] = (),
        plugin_manager: pluggy.PluginManager | None = None,
    ) -> None:
        self.config = config or MemoryConfig()
        self.namespace = validate_namespace(namespace)
        learns_in_child = self.config.learning.effective_mode == "process"
        if learns_in_child:
            if store is not None:
                raise ConfigurationError(
                    'learning.mode="process" needs the memory to open its store from '
                    "database_url (its learner process opens the same database); pass no "
                    'store, or use learning.mode="external" with memory-core learn'
                )
            check_shareable(self.config.resolved_database_url)
        self.plugins = PluginHost(
            plugin_manager
            or make_plugin_manager(load_entrypoints=self.config.load_plugins, plugins=plugins)
        )
        self._owns_store = store is None
        self.store: EpisodeStore = store or self.plugins.make_store(
            self.config.resolved_database_url, self.config
        )
        if embedder is None and self.config.embedder is not None:
            embedder = self.plugins.embedder(self.config.embedder)
        self._lock = threading.RLock()
        self._active: dict[UUID, Episode] = {}
        # Completed episodes as JSON: parsing gives every caller its own copy, 3x faster
        # than deep-copying a model.
        self._episode_cache: HotCache[str] = HotCache(
            self.config.cache_max_episodes, self.config.cache_ttl_seconds
        )
        self._pattern_cache: HotCache[Pattern] = HotCache(
            self.config.cache_max_patterns, self.config.cache_ttl_seconds
        )
        self._watch_store(True)
        self._buffer = WriteBehindBuffer(
            self.store,
            self.namespace,
            interval=self.config.flush_interval_ms / 1000.0,
            max_pending=self.config.flush_max_pending,
            on_durable=self._completions_durable,
        )
        self.learning = LearningService(
            self.config,
            self.store,
            self.namespace,
            plugins=self.plugins,
            on_learned=self._patterns_learned,
        )
        self.retrieval = RetrievalEngine(
            self.config,
            self.store,
            self.namespace,
            embedder=embedder,
            pending=self._buffer.completing,
            flush_pending=self._buffer.flush,
            completions_pending=lambda: self._buffer.completions_pending,
        )
        self._executor: ThreadPoolExecutor | None = None
        self._writers: list[weakref.WeakMethod[Callable[[UUID | None], object]]] = []
        self._closed = False
        self._pruner: BackgroundPruner | None = None
        retention = self.config.retention
        if retention.enabled and retention.auto_prune and isinstance(self.store, LifecycleStore):
            self._pruner = BackgroundPruner(
                lambda deadline: self._prune(dry_run=False, deadline=deadline),
                interval=retention.prune_interval_seconds,
                budget=retention.prune_max_seconds,
                name=f"memory-core-prune[{self.namespace}]",
            )
        self.learning.resume()
        self._learner: LearnerProcess | None = None
        if learns_in_child:
            if plugins:
                logger.warning(
                    "learning.mode='process': plugin objects given to the memory are not "
                    "in its learner process, which loads the installed plugins only; their "
                    "learning hooks will not run"
                )
            try:
                self._learner = LearnerProcess(self.config, self.namespace)
            except BaseException:
                self.close()  # what was opened above
                raise

    @property
    def learner_pid(self) -> int | None:
        """The id of this memory's learner process (``learning.mode="process"``), else None.

        None as well once the learner has exited: after `close`, or when it died (another
        one is started, see `memory_core._learner_process.LearnerProcess`).
        """
        learner = self._learner
        return learner.pid if learner is not None and learner.running else None

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The memory's own worker thread for blocking calls made from async code.

        One thread (started on first use): searches are serialised by the retrieval index
        anyway, and one thread competing for the GIL delays the event loop least.

        Raises:
            InvalidInputError: The memory is closed.
        """
        with self._lock:
            self._check_open()
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"memory-core-async[{self.namespace}]"
                )
            return self._executor

    def add_writer(self, drain: weakref.WeakMethod[Callable[[UUID | None], object]]) -> None:
        """Register a producer that queues writes for this memory on another thread.

        ``drain(episode_id)`` (a weak reference to a bound method, dropped once its object
        is gone) must return once the producer's queued writes to that episode (to any
        episode when None) are done. It is called before every call that lists, searches,
        flushes or closes (None), and before reading, logging to or completing an episode,
        so that those see the producer's writes as if they had been made inline (a
        `memory_core.RunRecorder` with ``background=True``).
        """
        with self._lock:
            self._writers.append(drain)

    def _settle(self, episode_id: UUID | None = None) -> None:
        """Wait for the writes registered producers queued (see `add_writer`)."""
        if not self._writers:
            return
        for ref in list(self._writers):
            drain = ref()
            if drain is None:
                with self._lock:
                    if ref in self._writers:
                        self._writers.remove(ref)
            else:
                drain(episode_id)

    def _defer_completion(self) -> bool:
        """Whether a completion may wait in the write buffer (see `complete_episode`).

        Only with background learning under the ``inline`` policy ("block" and "reject"
        must see every completion in the queue at once), and only while the learning queue
        has room for it: when learning falls behind, completing stores at once and learns
        in the caller, as the ``inline`` policy promises.
        """
        learning = self.config.learning
        if learning.effective_mode == "inline" or learning.backpressure != "inline":
            return False
        waiting = self.learning.stats().queued + self._buffer.completions_pending
        return waiting < learning.queue_size

    def completes_in_memory(self, episode_id: UUID) -> bool:
        """True when completing ``episode_id`` now needs no database access.

        That is the default configuration (background learning, ``inline`` backpressure)
        while learning keeps up, with the episode in flight in this process; the async
        facade then completes it on the event loop instead of a worker thread.
        """
        return episode_id in self._active and not self._closed and self._defer_completion()

    def _completions_durable(self, episodes: Sequence[Episode]) -> None:
        """Queue completed episodes for learning once the buffer has stored them."""
        for episode in episodes:
            # A worker records pattern ids on its own (shallow) copy, so the episode the
            # caller was given never changes under its feet.
            self.learning.submit(episode.model_copy())

    def _patterns_learned(self, episode: Episode, patterns: Sequence[Pattern]) -> None:
        """Keep this process's caches and pattern ranking in step with learning."""
        for pattern in patterns:
            self._pattern_cache.invalidate(pattern.pattern_id)
        self._episode_cache.invalidate(episode.episode_id)
        self.retrieval.patterns_changed(patterns)
        if self._pruner is not None:
            self._pruner.poke()

    # ------------------------------------------------------------ lifecycle

    def start_episode(
        self,
        task_description: str,
        context: TaskContext | Mapping[str, Any] | None = None,
        task_type: TaskType | str = TaskType.OTHER,
        *,
        metadata: Mapping[str, str] | None = None,
        episode_id: UUID | None = None,
    ) -> UUID:
        """Start recording an episode; see `SyncSelfLearningMemory.start_episode`."""
        self._check_open()
        description: object = task_description  # callers may pass anything at run time
        if not isinstance(description, str) or not description.strip():
            raise InvalidInputError("task_description must be a non-empty string")
        size = len(task_description.encode())
        if size > self.config.limits.max_description_bytes:
            raise PayloadTooLargeError(
                f"task_description is {size} bytes, over the limit of "
                f"{self.config.limits.max_description_bytes}; shorten it or raise "
                "MemoryConfig.limits.max_description_bytes"
            )
        ctx = TaskContext() if context is None else _coerce(TaskContext, context, "context")
        kind = _task_type(task_type)
        try:
            episode = Episode(
                episode_id=episode_id or new_id(),
                task_type=kind,
                task_description=task_description,
                context=ctx,
                metadata=dict(metadata or {}),
            )
        except ValidationError as exc:
            raise InvalidInputError(f"invalid episode: {exc}") from exc
        with self._lock:
            if episode.episode_id in self._active:
                raise InvalidInputError(f"episode {episode.episode_id} is already being recorded")
            self._active[episode.episode_id] = episode
        self._buffer.add_episode(episode.model_copy(update={"steps": []}))
        self.plugins.notify("episode_started", episode=episode, namespace=self.namespace)
        return episode.episode_id

    def _active_episode(self, episode_id: UUID) -> Episode:
        """The in-flight episode, re-loaded from the store after a restart if needed."""
        episode = self._active.get(episode_id)
        if episode is not None:
            return episode
        if self._buffer.completing(episode_id) is not None:
            raise EpisodeAlreadyCompletedError(episode_id)
        stored = self.store.get_episode(self.namespace, episode_id)
        if stored is None:
            raise EpisodeNotFoundError(episode_id, self.namespace)
        if stored.is_complete:
            raise EpisodeAlreadyCompletedError(episode_id)
        self._active[episode_id] = stored
        return stored

    def _check_step(self, step: ExecutionStep) -> None:
        limits = self.config.limits
        result = step.result
        text = None if result is None else (result.output or result.message)
        if text is not None and len(text.encode()) > limits.max_step_output_bytes:
            raise PayloadTooLargeError(
                f"step output/error is {len(text.encode())} bytes, over the limit of "
                f"{limits.max_step_output_bytes}; truncate it or raise "
                "MemoryConfig.limits.max_step_output_bytes"
            )
        if step.parameters:
            try:  # the serialiser the store uses, so what passes here can be stored
                size = len(to_json(step.parameters))
            except PydanticSerializationError as exc:
                raise InvalidInputError(
                    f"step parameters are not JSON-serialisable ({exc}); pass strings, "
                    "numbers, booleans, None, lists and dicts"
                ) from exc
            if size > limits.max_parameters_bytes:
                raise PayloadTooLargeError(
                    f"step parameters are {size} bytes, over the limit of "
                    f"{limits.max_parameters_bytes}; store large artifacts elsewhere and "
                    "log a reference"
                )

    def log_step(self, episode_id: UUID, step: ExecutionStep | Mapping[str, Any]) -> ExecutionStep:
        """Append a step; see `SyncSelfLearningMemory.log_step`."""
        self._settle(episode_id)
        self._check_open()
        step = _coerce(ExecutionStep, step, "step")
        self._check_step(step)
        with self._lock:
            episode = self._active_episode(episode_id)
            if len(episode.steps) >= self.config.limits.max_steps_per_episode:
                raise PayloadTooLargeError(
                    f"episode {episode_id} already has {len(episode.steps)} steps, the limit; "
                    "split the task or raise MemoryConfig.limits.max_steps_per_episode"
                )
            last = episode.steps[-1].step_number if episode.steps else 0
            assert last is not None
            if step.step_number is None:
                step = step.model_copy(update={"step_number": last + 1})
            elif step.step_number <= last:
                raise StepOrderError(
                    f"step_number {step.step_number} is not above the previous step "
                    f"({last}); omit step_number to have it assigned"
                )
            episode.steps.append(step)
            self._buffer.add_step(episode_id, step)
        if self.plugins.has("step_logged"):
            self.plugins.notify(
                "step_logged", episode_id=episode_id, step=step, namespace=self.namespace
            )
        return step

    def complete_episode(
        self,
        episode_id: UUID,
        outcome: TaskOutcome | Mapping[str, Any],
        *,
        token_usage: TokenUsage | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Episode:
        """Finish, score, store and learn from an episode; see the facade's docstring."""
        self._settle(episode_id)
        self._check_open()
        outcome = _coerce(TaskOutcome, outcome, "outcome")
        self.learning.admit()  # backpressure may wait: not under the engine lock
        with self._lock:
            episode = self._active_episode(episode_id)
            final = episode.model_copy(
                update={
                    "outcome": outcome,
                    "end_time": utcnow(),
                    "steps": list(episode.steps),
                    "token_usage": token_usage or episode.token_usage,
                    "metadata": {**episode.metadata, **(metadata or {})},
                }
            )
            final = self.learning.assess(final)
            as_json = final.model_dump_json()  # serialised once: size check and caches
            size = len(as_json.encode())
            if size > self.config.limits.max_episode_bytes:
                raise PayloadTooLargeError(
                    f"episode {episode_id} is {size} bytes as JSON, over the limit of "
                    f"{self.config.limits.max_episode_bytes}; it was not completed"
                )
            deferred = self._defer_completion()
            if deferred:
                # durable within flush_interval_ms, like steps; learning starts once it is
                self._buffer.add_completed(final)
            else:
                self._buffer.flush(completed=final)
            del self._active[episode_id]
        self._episode_cache.put(episode_id, as_json)
        self.retrieval.episode_completed(final, as_json)
        self.plugins.notify("episode_completed", episode=final, namespace=self.namespace)
        if deferred:
            return final
        # Queued now, or learned here (the caller then gets the pattern ids).
        learned = final.model_copy()
        return learned if self.learning.submit(learned) else final

    # ---------------------------------------------------------------- reads

    def get_episode(self, episode_id: UUID) -> Episode:
        """Return one episode (in-flight or completed) with its steps."""
        self._settle(episode_id)
        with self._lock:
            active = self._active.get(episode_id)
            if active is not None:
                return active.model_copy(deep=True)
        cached = self._episode_cache.get(episode_id)
        if cached is not None:
            return Episode.model_validate_json(cached)
        completing = self._buffer.completing(episode_id)
        if completing is not None:
            return completing.model_copy(deep=True)
        token = self._episode_cache.token()
        episode = self.store.get_episode(self.namespace, episode_id)
        if episode is None:
            raise EpisodeNotFoundError(episode_id, self.namespace)
        if episode.is_complete:
            self._episode_cache.put(episode_id, episode.model_dump_json(), since=token)
        return episode

    def list_episodes(
        self,
        *,
        domain: str | None = None,
        task_type: TaskType | str | None = None,
        outcome_kind: OutcomeKind | None = None,
        completed: bool | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        min_reward: float | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[Episode]:
        """List full episodes, newest first; see the facade's docstring."""
        self._settle()
        if limit is not None and not 0 <= limit <= 10_000:
            raise InvalidInputError("limit must be between 0 and 10000 (or None for all)")
        if offset < 0:
            raise InvalidInputError("offset must be >= 0")
        self._buffer.flush()
        query = EpisodeQuery(
            domain=domain,
            task_type=None if task_type is None else _task_type(task_type),
            outcome_kind=_outcome_kind(outcome_kind),
            completed=completed,
            since=since,
            until=until,
            min_reward=min_reward,
            limit=limit,
            offset=offset,
        )
        return self.store.list_episodes(self.namespace, query)

    def delete_episode(self, episode_id: UUID) -> None:
        """Delete an episode, its steps and evidence links; see the facade's docstring."""
        self._settle()
        with self._lock:
            self._buffer.flush()
            was_active = self._active.pop(episode_id, None) is not None
            if isinstance(self.store, LifecycleStore):
                deleted = (
                    self.store.delete_episodes(
                        self.namespace,
                        [episode_id],
                        drop_orphans=self.config.retention.drop_orphan_patterns,
                    ).episodes
                    == 1
                )
            else:
                deleted = self.store.delete_episode(self.namespace, episode_id)
        self._episode_cache.invalidate(episode_id)
        self.retrieval.episode_deleted(episode_id)
        if not (deleted or was_active):
            raise EpisodeNotFoundError(episode_id, self.namespace)

    def get_pattern(self, pattern_id: UUID) -> Pattern:
        """Return one pattern."""
        cached = self._pattern_cache.get(pattern_id)
        if cached is not None:
            return cached.model_copy(deep=True)
        token = self._pattern_cache.token()
        pattern = self.store.get_pattern(self.namespace, pattern_id)
        if pattern is None:
            raise PatternNotFoundError(pattern_id, self.namespace)
        self._pattern_cache.put(pattern_id, pattern.model_copy(deep=True), since=token)
        return pattern

    def list_patterns(
        self, *, kind: PatternKind | None = None, domain: str | None = None, limit: int | None = 100
    ) -> list[Pattern]:
        """List patterns, most recently updated first."""
        return self.store.list_patterns(self.namespace, kind=kind, domain=domain, limit=limit)

    def retrieve_heuristics(
        self, context: TaskContext | Mapping[str, Any] | None = None, limit: int = 5
    ) -> list[Heuristic]:
        """Learned condition -> action rules for a context, best first."""
        ctx = TaskContext() if context is None else _coerce(TaskContext, context, "context")
        return self.learning.heuristics_for(ctx, limit)

    def list_heuristics(self, *, limit: int | None = 100) -> list[Heuristic]:
        """List learned heuristics, most recently updated first."""
        return self.store.list_heuristics(self.namespace, limit=limit)

    # ------------------------------------------------------------ retrieval

    def search_episodes(
        self,
        task_description: str,
        context: TaskContext | Mapping[str, Any] | None = None,
        limit: int = 5,
        *,
        include_below_floor: bool = False,
        domain: str | None = None,
        task_type: TaskType | str | None = None,
        outcome_kind: OutcomeKind | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        min_reward: float | None = None,
    ) -> list[RetrievedEpisode]:
        """Rank past episodes for a task, with score breakdowns."""
        self._settle()
        if not 0 < limit <= 1_000:
            raise InvalidInputError("limit must be between 1 and 1000")
        ctx = TaskContext() if context is None else _coerce(TaskContext, context, "context")
        filters = EpisodeFilters(
            domain=domain,
            task_type=None if task_type is None else _task_type(task_type),
            outcome_kind=_outcome_kind(outcome_kind),
            since=since,
            until=until,
            min_reward=min_reward,
        )
        results = self.retrieval.search_episodes(
            task_description or "", ctx, limit, filters, include_below_floor=include_below_floor
        )
        return self.plugins.rerank(task_description or "", ctx, results)

    def recommend_plan(
        self,
        task_description: str,
        context: TaskContext | Mapping[str, Any] | None = None,
        *,
        episode_id: UUID | None = None,
    ) -> RecommendedPlan | None:
        """The tool plan that solved tasks like this one; see the facade's docstring."""
        self._settle()
        description: object = task_description
        if not isinstance(description, str) or not description.strip():
            raise InvalidInputError("task_description must be a non-empty string")
        ctx = TaskContext() if context is None else _coerce(TaskContext, context, "context")
        # Successes vote for their tools, failures for the steps they got right and against
        # a plan they followed: the best of each kind, so that a run of failures cannot crowd
        # the successes out (or back).
        found = self.retrieval.search_by_outcome(
            task_description, ctx, self.config.retrieval.plan_candidates, ("success", "failure")
        )
        plan = recommend_plan(found)
        if plan is not None and episode_id is not None:
            with self._lock:
                self._active_episode(episode_id).followed_plan = list(plan.tools)
        return plan

    def search_patterns(
        self,
        context: TaskContext | Mapping[str, Any] | None = None,
        limit: int = 10,
        *,
        task_description: str | None = None,
        episode_id: UUID | None = None,
    ) -> list[RetrievedPattern]:
        """Rank patterns for a context; ``episode_id`` records them as retrieved for it."""
        self._settle()
        if not 0 < limit <= 1_000:
            raise InvalidInputError("limit must be between 1 and 1000")
        ctx = TaskContext() if context is None else _coerce(TaskContext, context, "context")
        found = self.retrieval.search_patterns(ctx, task_description, limit)
        if episode_id is not None and found:
            with self._lock:
                episode = self._active_episode(episode_id)
                seen = set(episode.retrieved_pattern_ids)
                episode.retrieved_pattern_ids.extend(
                    r.pattern.pattern_id for r in found if r.pattern.pattern_id not in seen
                )
        return found

    def record_pattern_application(
        self,
        pattern_id: UUID,
        episode_id: UUID | None,
        helped: bool,
        reward_delta: float | None = None,
    ) -> Pattern:
        """Record that a pattern was applied and whether it helped."""
        pattern = self.learning.record_application(pattern_id, episode_id, helped, reward_delta)
        self._pattern_cache.invalidate(pattern_id)
        return pattern

    # ---------------------------------------------------------------- admin

    def stats(self) -> MemoryStats:
        """A snapshot of counts, cache counters and learning-queue counters."""
        self._settle()
        with self._lock:
            in_flight = len(self._active)
        self._buffer.flush()
        total = self.store.count_episodes(self.namespace)
        completed = self.store.count_episodes(self.namespace, completed=True)
        unlearned = count_unlearned(self.store, self.namespace)
        patterns, heuristics = count_learned_items(self.store, self.namespace)
        return MemoryStats(
            namespace=self.namespace,
            database_url=_safe_url(getattr(self.store, "url", "custom store")),
            episodes_total=total,
            episodes_completed=completed,
            episodes_in_flight=in_flight,
            episodes_unlearned=unlearned,
            patterns_total=patterns,
            heuristics_total=heuristics,
            pending_writes=self._buffer.pending,
            episode_cache_hits=self._episode_cache.hits,
            episode_cache_misses=self._episode_cache.misses,
            pattern_cache_hits=self._pattern_cache.hits,
            pattern_cache_misses=self._pattern_cache.misses,
            learning=self.learning.stats(),
        )

    def flush(self) -> None:
        """Make every pending write durable now."""
        self._settle()
        self._buffer.flush()

    def wait_for_learning(self, timeout: float | None = None) -> bool:
        """Block until queued learning work is done; False if ``timeout`` ran out.

        Completions still waiting in the write buffer are stored (and queued) first.
        """
        self._settle()
        self._buffer.flush()
        if self._learner is not None:
            return self._learner.wait_until(
                lambda: count_unlearned(self.store, self.namespace) == 0, timeout
            )
        return self.learning.wait(timeout)

    def learn_pending(
        self,
        *,
        limit: int | None = None,
        batch_size: int | None = None,
        stop: threading.Event | None = None,
    ) -> LearnReport:
        """Learn the namespace's unlearned episodes here; see the facade's docstring."""
        self._settle()
        self._check_open()
        self._buffer.flush()
        return self.learning.learn_pending(limit=limit, batch_size=batch_size, stop=stop)

    def relearn(
        self,
        *,
        episode_ids: Sequence[UUID] | None = None,
        pending_only: bool = False,
        rebuild: bool = False,
        progress: RelearnProgress | None = None,
        batch_size: int = 500,
    ) -> RelearnReport:
        """Run pattern extraction again over stored episodes; see the facade's docstring."""
        self._settle()
        self._check_open()
        self._buffer.flush()
        self.learning.wait()  # queued work first, so the report compares settled states
        return self.learning.relearn(
            episode_ids=None if episode_ids is None else list(episode_ids),
            pending_only=pending_only,
            rebuild=rebuild,
            progress=progress,
            batch_size=batch_size,
        )

    def prune(self, *, dry_run: bool = False) -> PruneReport:
        """Apply ``config.retention`` now; see the facade's docstring."""
        self._settle()
        self._check_open()
        self._buffer.flush()
        return self._prune(dry_run=dry_run, deadline=None)

    def _prune(self, *, dry_run: bool, deadline: float | None) -> PruneReport:
        store = self.store
        if not isinstance(store, LifecycleStore):
            raise ConfigurationError(
                f"the store {type(store).__name__} cannot prune: it does not implement "
                "memory_core.storage.erasure.LifecycleStore"
            )
        return prune(
            store, self.namespace, self.config.retention, dry_run=dry_run, deadline=deadline
        )

    def _watch_store(self, on: bool) -> None:
        """Subscribe to (or leave) the store's in-process change notifications, if it has them.

        Learning and retrieval write patterns and episodes through the store directly; the
        notifications keep the hot caches from serving what they replaced. Changes made by
        other processes are bounded by the cache TTL instead.
        """
        listeners = getattr(self.store, "change_listeners", None)
        if not isinstance(listeners, list):
            return
        if on:
            listeners.append(self._on_store_change)
        elif self._on_store_change in listeners:
            listeners.remove(self._on_store_change)

    def _on_store_change(self, namespace: str, entity: str, ids: list[str], op: str) -> None:
        if namespace != self.namespace:
            return
        if entity == "episode":
            for key in ids:
                self._episode_cache.invalidate(UUID(key))
                if op == "delete" and hasattr(self, "retrieval"):
                    self.retrieval.episode_deleted(UUID(key))  # pruned here: out of the index
        elif entity == "pattern":
            for key in ids:
                self._pattern_cache.invalidate(UUID(key))

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidInputError("this memory is closed; create a new one")

    def close(self) -> None:
        """Flush pending writes, finish learning work and release the store. Idempotent."""
        if self._closed:
            return
        self._settle()
        self._closed = True
        try:
            if self._pruner is not None:
                self._pruner.close()
            if self._executor is not None:
                self._executor.shutdown(wait=True)
            self._buffer.close()
            if self._learner is not None:
                self._learner.stop(self.config.learning.close_timeout_seconds)
            self.learning.close()
            self.retrieval.close()
        finally:
            self._watch_store(False)
            if self._owns_store:
                self.store.close()


def _task_type(value: TaskType | str) -> TaskType:
    try:
        return TaskType(value)
    except ValueError as exc:
        raise InvalidInputError(
            f"unknown task_type {value!r}; use one of {', '.join(t.value for t in TaskType)}"
        ) from exc


_OUTCOME_KINDS: tuple[OutcomeKind, ...] = get_args(OutcomeKind)


def _outcome_kind(value: OutcomeKind | None) -> OutcomeKind | None:
    if value is not None and value not in _OUTCOME_KINDS:
        raise InvalidInputError(
            f"unknown outcome_kind {value!r}; use one of {', '.join(_OUTCOME_KINDS)}"
        )
    return value


def _safe_url(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)
