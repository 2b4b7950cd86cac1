"""The public facades: `SelfLearningMemory` (async) and `SyncSelfLearningMemory` (blocking).

Both expose the same methods over one `MemoryEngine`, as httpx's ``AsyncClient`` and
``Client`` do. The async facade runs anything that may touch the database or take more than
a fraction of a millisecond (searches, reads, listing) on the memory's own worker thread
(`MemoryEngine.executor`), so it never blocks the event loop; the cheap in-memory
operations run inline: ``start_episode``, ``log_step`` and, in the default configuration,
``complete_episode`` (which then only queues the write; see `MemoryEngine.completes_in_memory`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar
from uuid import UUID

import pluggy

from memory_core._engine import MemoryEngine
from memory_core.config import MemoryConfig
from memory_core.embeddings import Embedder
from memory_core.learning import LearnReport, RelearnProgress
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
)
from memory_core.storage import EpisodeStore
from memory_core.storage.retention import PruneReport

__all__ = ["SelfLearningMemory", "SyncSelfLearningMemory"]

ContextLike = TaskContext | Mapping[str, Any] | None
P = ParamSpec("P")
R = TypeVar("R")


class _Facade:
    """What both facades share: construction and the engine."""

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
        self._engine = MemoryEngine(
            config,
            namespace=namespace,
            store=store,
            embedder=embedder,
            plugins=plugins,
            plugin_manager=plugin_manager,
        )

    @classmethod
    def _from_engine(cls, engine: MemoryEngine) -> Self:
        facade = cls.__new__(cls)
        facade._engine = engine
        return facade

    @property
    def sync(self) -> SyncSelfLearningMemory:
        """A blocking view of the same memory (same engine, same namespace).

        Framework callbacks that must record synchronously use this, whichever facade the
        user created. Closing either view closes the memory.
        """
        if isinstance(self, SyncSelfLearningMemory):
            return self
        return SyncSelfLearningMemory._from_engine(self._engine)

    @property
    def namespace(self) -> str:
        """The tenant this memory reads and writes; other namespaces are invisible."""
        return self._engine.namespace

    @property
    def config(self) -> MemoryConfig:
        """The configuration in use."""
        return self._engine.config

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        """This memory's own pluggy plugin manager (register or unregister plugins on it)."""
        return self._engine.plugins.pm

    @property
    def engine(self) -> MemoryEngine:
        """The shared synchronous implementation (for adapters and tools)."""
        return self._engine

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self.namespace!r})"


class SyncSelfLearningMemory(_Facade):
    """A self-learning episodic memory with blocking methods.

    Args:
        config: Configuration; defaults to `MemoryConfig()` (SQLite in the user's data dir).
        namespace: Tenant name; each namespace sees only its own episodes and patterns.
        store: Use this store instead of opening ``config.database_url``.
        embedder: Optional `Embedder` adding semantic similarity to retrieval.
        plugins: Extra plugin objects (modules, classes, instances) for this memory only.
        plugin_manager: A ready plugin manager (see `memory_core.make_plugin_manager`).

    Example:
        >>> with SyncSelfLearningMemory(MemoryConfig(database_url="sqlite:///:memory:")) as m:
        ...     eid = m.start_episode("Add a test", TaskContext(language="python"))
        ...     _ = m.log_step(eid, ExecutionStep(tool="pytest", action="run tests"))
        ...     episode = m.complete_episode(eid, TaskOutcome.success("tests pass"))
    """

    def start_episode(
        self,
        task_description: str,
        context: ContextLike = None,
        task_type: TaskType | str = TaskType.OTHER,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> UUID:
        """Start recording a task run and return its episode id.

        Raises:
            InvalidInputError: For an empty description, a bad context or task type.
            PayloadTooLargeError: For a description over ``limits.max_description_bytes``.
        """
        return self._engine.start_episode(task_description, context, task_type, metadata=metadata)

    def log_step(self, episode_id: UUID, step: ExecutionStep | Mapping[str, Any]) -> ExecutionStep:
        """Append a step to an in-flight episode and return it (with its step number).

        The step is durable within ``flush_interval_ms``.

        Raises:
            EpisodeNotFoundError: Unknown episode id (in this namespace).
            EpisodeAlreadyCompletedError: The episode is complete.
            StepOrderError: An explicit step number is not above the previous one.
            PayloadTooLargeError: Output, parameters or step count over the limits.
        """
        return self._engine.log_step(episode_id, step)

    def complete_episode(
        self,
        episode_id: UUID,
        outcome: TaskOutcome | Mapping[str, Any],
        *,
        token_usage: TokenUsage | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Episode:
        """Finish an episode: score it, reflect on it, store it, and queue it for learning.

        Returns the stored episode (with reward and reflection). Nothing is stored when an
        error is raised, and the episode can be completed again after fixing the cause.

        Raises:
            EpisodeNotFoundError: Unknown episode id.
            EpisodeAlreadyCompletedError: Completed before.
            PayloadTooLargeError: The episode is over ``limits.max_episode_bytes``.
            LearningQueueFullError: Queue full under the ``reject`` policy.
            StorageError: The database failed.
        """
        return self._engine.complete_episode(
            episode_id, outcome, token_usage=token_usage, metadata=metadata
        )

    def get_episode(self, episode_id: UUID) -> Episode:
        """Return an episode with its steps.

        Raises:
            EpisodeNotFoundError: Unknown episode id (in this namespace).
        """
        return self._engine.get_episode(episode_id)

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
        """Return full episodes (with steps), newest first, filtered by the given fields."""
        return self._engine.list_episodes(
            domain=domain,
            task_type=task_type,
            outcome_kind=outcome_kind,
            completed=completed,
            since=since,
            until=until,
            min_reward=min_reward,
            limit=limit,
            offset=offset,
        )

    def delete_episode(self, episode_id: UUID) -> None:
        """Delete an episode with its steps, embeddings and evidence links.

        Patterns and heuristics learned from it keep their counts; it leaves their
        ``evidence``, and those left with no linked episode are deleted too when
        ``retention.drop_orphan_patterns`` is true.

        Raises:
            EpisodeNotFoundError: Unknown episode id.
        """
        self._engine.delete_episode(episode_id)

    def search_episodes(
        self,
        task_description: str,
        context: ContextLike = None,
        limit: int = 5,
        **filters: Any,
    ) -> list[RetrievedEpisode]:
        """Rank past episodes for a task, each with its score and score breakdown.

        Filters: ``domain``, ``task_type``, ``outcome_kind``, ``since``, ``until``,
        ``min_reward``; ``include_below_floor=True`` also returns weakly related episodes,
        flagged ``below_floor``.
        """
        return self._engine.search_episodes(task_description, context, limit, **filters)

    def retrieve_relevant_context(
        self, task_description: str, context: ContextLike = None, limit: int = 5
    ) -> list[Episode]:
        """Return the past episodes most likely to help with a task, best first."""
        return [r.episode for r in self._engine.search_episodes(task_description, context, limit)]

    def recommend_plan(
        self,
        task_description: str,
        context: ContextLike = None,
        *,
        episode_id: UUID | None = None,
    ) -> RecommendedPlan | None:
        """The lesson for a task: the tools that solved tasks like it, or None.

        The relevant past episodes (above the relevance floor) vote for the tool sequences
        of their successful steps, weighted by relevance; a plan that similar episodes
        followed and failed with, or had to correct, loses votes. While only failed attempts
        are relevant, their successful steps make a partial plan (``success_rate`` 0: follow
        it, then explore). Returns the winning plan with its evidence episodes, success rate
        and confidence, or None when memory holds no relevant episode with a successful step
        (a wrong lesson is worse than none).

        Args:
            task_description: The new task.
            context: Its context (domain, language, tags...).
            episode_id: The in-flight episode the plan is for: the plan is recorded on it
                (``followed_plan``), so that if the run fails the plan ranks lower next time.

        Raises:
            InvalidInputError: For an empty description or a bad context.
            EpisodeNotFoundError: ``episode_id`` names no episode of this namespace.
            EpisodeAlreadyCompletedError: ``episode_id`` names a completed episode.
        """
        return self._engine.recommend_plan(task_description, context, episode_id=episode_id)

    def search_patterns(
        self,
        context: ContextLike = None,
        limit: int = 10,
        *,
        task_description: str | None = None,
        episode_id: UUID | None = None,
    ) -> list[RetrievedPattern]:
        """Rank patterns for a context, with breakdowns.

        Pass the in-flight ``episode_id`` to record the patterns as retrieved for it; its
        reward then updates their effectiveness when it completes.
        """
        return self._engine.search_patterns(
            context, limit, task_description=task_description, episode_id=episode_id
        )

    def retrieve_relevant_patterns(
        self, context: ContextLike = None, limit: int = 10, *, episode_id: UUID | None = None
    ) -> list[Pattern]:
        """Return the patterns most relevant to a context, best first."""
        found = self._engine.search_patterns(context, limit, episode_id=episode_id)
        return [r.pattern for r in found]

    def get_pattern(self, pattern_id: UUID) -> Pattern:
        """Return one pattern.

        Raises:
            PatternNotFoundError: Unknown pattern id (in this namespace).
        """
        return self._engine.get_pattern(pattern_id)

    def list_patterns(
        self, *, kind: PatternKind | None = None, domain: str | None = None, limit: int | None = 100
    ) -> list[Pattern]:
        """Return stored patterns, most recently updated first."""
        return self._engine.list_patterns(kind=kind, domain=domain, limit=limit)

    def list_heuristics(self, *, limit: int | None = 100) -> list[Heuristic]:
        """Return learned heuristics, most recently updated first."""
        return self._engine.list_heuristics(limit=limit)

    def retrieve_heuristics(self, context: ContextLike = None, limit: int = 5) -> list[Heuristic]:
        """Return learned condition -> action rules that fit a context, best first.

        Only rules backed by several episodes with enough confidence are returned (see
        ``LearningConfig.heuristic_min_samples`` / ``heuristic_min_confidence``).
        """
        return self._engine.retrieve_heuristics(context, limit)

    def record_pattern_application(
        self,
        pattern_id: UUID,
        episode_id: UUID | None,
        helped: bool,
        reward_delta: float | None = None,
    ) -> Pattern:
        """Record that an agent applied a pattern and whether it helped; returns it updated."""
        return self._engine.record_pattern_application(pattern_id, episode_id, helped, reward_delta)

    def stats(self) -> MemoryStats:
        """Counts, cache hit/miss counters and learning-queue counters."""
        return self._engine.stats()

    def flush(self) -> None:
        """Make every pending write durable now."""
        self._engine.flush()

    def wait_for_learning(self, timeout: float | None = None) -> bool:
        """Block until all queued learning work is done; False if ``timeout`` ran out."""
        return self._engine.wait_for_learning(timeout)

    def learn_pending(
        self, *, limit: int | None = None, batch_size: int | None = None
    ) -> LearnReport:
        """Learn the namespace's stored, not yet learned episodes here, in the caller.

        What a ``learning.mode="external"`` memory leaves behind (or a crash did) is claimed
        in batches of ``batch_size`` (default ``learning.batch_size``), learned and marked
        learned, one transaction per batch, until none is left or ``limit`` episodes were
        handled. Many processes may do it at once on one database (``memory-core learn``):
        each episode is learned by exactly one of them.

        Returns:
            Episodes learned and failed, batches and time taken.

        Raises:
            InvalidInputError: ``limit`` or ``batch_size`` below 1.
            StorageError: The database failed.
        """
        return self._engine.learn_pending(limit=limit, batch_size=batch_size)

    def relearn(
        self,
        *,
        episode_ids: Sequence[UUID] | None = None,
        pending_only: bool = False,
        rebuild: bool = False,
        progress: RelearnProgress | None = None,
        batch_size: int = 500,
    ) -> RelearnReport:
        """Run pattern extraction again over stored episodes, e.g. after installing a plugin.

        Every completed episode by default, only ``episode_ids``, or with ``pending_only``
        only those whose extraction never ran. It runs in the caller, with the extractors
        installed now, after queued learning work has finished. It is idempotent: an episode is
        never counted twice in a pattern or heuristic, so new extractors add their findings
        and running it again changes nothing. ``rebuild=True`` deletes the namespace's patterns
        and heuristics first and learns them from scratch; patterns that come back (same kind
        and similarity key) keep their effectiveness record. ``progress`` is called with
        (episodes done, episodes selected); ``batch_size`` episodes are read per query.

        Returns:
            What was done: episodes learned or failed, patterns and heuristics created,
            updated and deleted, and the time taken.

        Raises:
            InvalidInputError: ``rebuild`` with ``pending_only`` or ``episode_ids``,
                ``pending_only`` with ``episode_ids``, a listed episode still in progress, or
                ``batch_size`` < 1.
            EpisodeNotFoundError: A listed episode does not exist (nothing was learned).
            StorageError: The database failed.
        """
        return self._engine.relearn(
            episode_ids=episode_ids,
            pending_only=pending_only,
            rebuild=rebuild,
            progress=progress,
            batch_size=batch_size,
        )

    def prune(self, *, dry_run: bool = False) -> PruneReport:
        """Apply ``config.retention`` to the namespace now, in the caller.

        Deletes completed, learned episodes older than ``max_age_days``, then the least
        valuable ones above ``max_episodes`` (see `RetentionConfig`), in chunks that each
        commit on their own. With retention configured this also runs in the background.

        Args:
            dry_run: Only report what would be deleted.

        Returns:
            Episodes, links and payload bytes deleted (or that would be), before/after counts.

        Raises:
            ConfigurationError: The store cannot prune (a plugin store without it).
            StorageError: The database failed.
        """
        return self._engine.prune(dry_run=dry_run)

    def close(self) -> None:
        """Flush, finish learning work and release the database. Idempotent."""
        self._engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SelfLearningMemory(_Facade):
    """A self-learning episodic memory with ``async`` methods (the seed API).

    Same arguments and methods as `SyncSelfLearningMemory`; database work and searches run
    on the memory's own worker thread so the event loop is never blocked.

    Example:
        >>> async def main() -> None:
        ...     async with SelfLearningMemory() as memory:
        ...         eid = await memory.start_episode("Fix the bug", TaskContext(domain="web"))
        ...         await memory.log_step(eid, ExecutionStep(tool="grep", action="find it"))
        ...         await memory.complete_episode(eid, TaskOutcome.success("fixed"))
    """

    async def _call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn`` on the memory's worker thread (with this context, as ``to_thread``)."""
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await loop.run_in_executor(self._engine.executor, call)

    async def start_episode(
        self,
        task_description: str,
        context: ContextLike = None,
        task_type: TaskType | str = TaskType.OTHER,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> UUID:
        """Start recording a task run and return its episode id (see the sync facade)."""
        return self._engine.start_episode(task_description, context, task_type, metadata=metadata)

    async def log_step(
        self, episode_id: UUID, step: ExecutionStep | Mapping[str, Any]
    ) -> ExecutionStep:
        """Append a step to an in-flight episode (see the sync facade)."""
        return self._engine.log_step(episode_id, step)

    async def complete_episode(
        self,
        episode_id: UUID,
        outcome: TaskOutcome | Mapping[str, Any],
        *,
        token_usage: TokenUsage | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Episode:
        """Finish, score, store and queue an episode for learning (see the sync facade).

        In the default configuration this only scores the episode and queues its write
        (a few hundred microseconds), so it runs on the event loop; otherwise it runs on
        the memory's worker thread.
        """
        if self._engine.completes_in_memory(episode_id):
            return self._engine.complete_episode(
                episode_id, outcome, token_usage=token_usage, metadata=metadata
            )
        return await self._call(
            self._engine.complete_episode,
            episode_id,
            outcome,
            token_usage=token_usage,
            metadata=metadata,
        )

    async def get_episode(self, episode_id: UUID) -> Episode:
        """Return an episode with its steps (see the sync facade)."""
        return await self._call(self._engine.get_episode, episode_id)

    async def list_episodes(
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
        """Return full episodes, newest first (see the sync facade)."""
        return await self._call(
            self._engine.list_episodes,
            domain=domain,
            task_type=task_type,
            outcome_kind=outcome_kind,
            completed=completed,
            since=since,
            until=until,
            min_reward=min_reward,
            limit=limit,
            offset=offset,
        )

    async def delete_episode(self, episode_id: UUID) -> None:
        """Delete an episode with its steps and evidence links (see the sync facade)."""
        await self._call(self._engine.delete_episode, episode_id)

    async def search_episodes(
        self,
        task_description: str,
        context: ContextLike = None,
        limit: int = 5,
        **filters: Any,
    ) -> list[RetrievedEpisode]:
        """Rank past episodes for a task, with breakdowns (see the sync facade)."""
        return await self._call(
            self._engine.search_episodes, task_description, context, limit, **filters
        )

    async def retrieve_relevant_context(
        self, task_description: str, context: ContextLike = None, limit: int = 5
    ) -> list[Episode]:
        """Return the past episodes most likely to help with a task, best first."""
        found = await self._call(self._engine.search_episodes, task_description, context, limit)
        return [r.episode for r in found]

    async def recommend_plan(
        self,
        task_description: str,
        context: ContextLike = None,
        *,
        episode_id: UUID | None = None,
    ) -> RecommendedPlan | None:
        """The lesson for a task; see `SyncSelfLearningMemory.recommend_plan`."""
        return await self._call(
            self._engine.recommend_plan, task_description, context, episode_id=episode_id
        )

    async def search_patterns(
        self,
        context: ContextLike = None,
        limit: int = 10,
        *,
        task_description: str | None = None,
        episode_id: UUID | None = None,
    ) -> list[RetrievedPattern]:
        """Rank patterns for a context, with breakdowns (see the sync facade)."""
        return await self._call(
            self._engine.search_patterns,
            context,
            limit,
            task_description=task_description,
            episode_id=episode_id,
        )

    async def retrieve_relevant_patterns(
        self, context: ContextLike = None, limit: int = 10, *, episode_id: UUID | None = None
    ) -> list[Pattern]:
        """Return the patterns most relevant to a context, best first."""
        found = await self._call(
            self._engine.search_patterns, context, limit, episode_id=episode_id
        )
        return [r.pattern for r in found]

    async def get_pattern(self, pattern_id: UUID) -> Pattern:
        """Return one pattern (see the sync facade)."""
        return await self._call(self._engine.get_pattern, pattern_id)

    async def list_patterns(
        self, *, kind: PatternKind | None = None, domain: str | None = None, limit: int | None = 100
    ) -> list[Pattern]:
        """Return stored patterns, most recently updated first."""
        return await self._call(self._engine.list_patterns, kind=kind, domain=domain, limit=limit)

    async def list_heuristics(self, *, limit: int | None = 100) -> list[Heuristic]:
        """Return learned heuristics, most recently updated first."""
        return await self._call(self._engine.list_heuristics, limit=limit)

    async def retrieve_heuristics(
        self, context: ContextLike = None, limit: int = 5
    ) -> list[Heuristic]:
        """Return learned condition -> action rules that fit a context, best first."""
        return await self._call(self._engine.retrieve_heuristics, context, limit)

    async def record_pattern_application(
        self,
        pattern_id: UUID,
        episode_id: UUID | None,
        helped: bool,
        reward_delta: float | None = None,
    ) -> Pattern:
        """Record that an agent applied a pattern and whether it helped."""
        return await self._call(
            self._engine.record_pattern_application, pattern_id, episode_id, helped, reward_delta
        )

    async def stats(self) -> MemoryStats:
        """Counts, cache counters and learning-queue counters."""
        return await self._call(self._engine.stats)

    async def flush(self) -> None:
        """Make every pending write durable now."""
        await self._call(self._engine.flush)

    async def wait_for_learning(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Wait until all queued learning work is done; False if ``timeout`` ran out."""
        # may wait long: not on the worker thread searches need
        return await asyncio.to_thread(self._engine.wait_for_learning, timeout)

    async def learn_pending(
        self, *, limit: int | None = None, batch_size: int | None = None
    ) -> LearnReport:
        """Learn the namespace's stored, not yet learned episodes (see the sync facade).

        The work runs in a worker thread.
        """
        return await asyncio.to_thread(
            self._engine.learn_pending, limit=limit, batch_size=batch_size
        )

    async def relearn(
        self,
        *,
        episode_ids: Sequence[UUID] | None = None,
        pending_only: bool = False,
        rebuild: bool = False,
        progress: RelearnProgress | None = None,
        batch_size: int = 500,
    ) -> RelearnReport:
        """Run pattern extraction again over stored episodes (see the sync facade).

        The work runs in a worker thread; ``progress`` is called from that thread.
        """
        return await asyncio.to_thread(  # long: not on the worker thread searches need
            self._engine.relearn,
            episode_ids=episode_ids,
            pending_only=pending_only,
            rebuild=rebuild,
            progress=progress,
            batch_size=batch_size,
        )

    async def prune(self, *, dry_run: bool = False) -> PruneReport:
        """Apply ``config.retention`` to the namespace now (see the sync facade).

        The work runs in a worker thread.
        """
        return await asyncio.to_thread(self._engine.prune, dry_run=dry_run)

    async def close(self) -> None:
        """Flush, finish learning work and release the database. Idempotent."""
        await asyncio.to_thread(self._engine.close)  # not on the executor it shuts down

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
