"""The recording state machine shared by the callback handler and the agent middleware.

A *run* (keyed by a UUID chosen by the caller: a root run id, or an episode id) is one
episode being recorded. Tool calls are steps; they may finish out of order (parallel tool
calls), so finished calls are held back until every call started before them has finished,
then logged in start order. Everything is in memory and guarded by one lock except the
final ``complete_episode``, which does the database write outside the lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from memory_core import (
    Episode,
    ExecutionResult,
    ExecutionStep,
    InvalidInputError,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
    TokenUsage,
)

__all__ = ["EpisodeRecorder", "OutcomeFn"]

logger = logging.getLogger("memory_core_langchain")

OutcomeFn = Callable[[Any], TaskOutcome | None]
"""Maps a run's final output to its outcome (None keeps the default success)."""


@dataclass(slots=True)
class _Call:
    """One tool call of a run, from start to end."""

    tool: str
    action: str
    parameters: dict[str, Any]
    metadata: dict[str, str]
    started_at: datetime
    t0: float
    result: ExecutionResult | None = None
    latency_ms: float = 0.0
    done: bool = False

    def step(self) -> ExecutionStep:
        return ExecutionStep(
            timestamp=self.started_at,
            tool=self.tool,
            action=self.action,
            parameters=self.parameters,
            result=self.result,
            latency_ms=self.latency_ms,
            metadata=self.metadata,
        )


@dataclass(slots=True)
class _Run:
    """An episode being recorded."""

    episode_id: UUID
    calls: deque[_Call] = field(default_factory=deque)
    usage: TokenUsage | None = None
    outcome: TaskOutcome | None = None


class EpisodeRecorder:
    """Turns run/tool/model events into one episode per run, never raising unless strict.

    Args:
        memory: The blocking view of the memory to record into.
        strict: Re-raise recording errors instead of logging and counting them.
    """

    def __init__(self, memory: SyncSelfLearningMemory, *, strict: bool = False) -> None:
        self.memory = memory
        self.strict = strict
        self.max_output_bytes = memory.config.limits.max_step_output_bytes
        self.errors = 0
        self.last_error: BaseException | None = None
        self.last_episode: Episode | None = None
        self._lock = threading.Lock()
        self._runs: dict[UUID, _Run] = {}
        self._calls: dict[UUID, tuple[_Run, _Call]] = {}

    # ------------------------------------------------------------ bookkeeping

    def failed(self, exc: BaseException, where: str) -> None:
        """Count and log an error raised while recording; re-raise it when strict."""
        with self._lock:
            self.errors += 1
            self.last_error = exc
        logger.warning("memory-core recording failed in %s: %r", where, exc, exc_info=exc)
        if self.strict:
            raise exc

    def is_open(self, key: UUID) -> bool:
        """True while the run ``key`` is being recorded."""
        return key in self._runs

    def open_keys(self) -> list[UUID]:
        """The keys of the runs being recorded."""
        with self._lock:
            return list(self._runs)

    def episode_id(self, key: UUID) -> UUID | None:
        """The episode id of an open run, or None."""
        run = self._runs.get(key)
        return None if run is None else run.episode_id

    # ---------------------------------------------------------------- events

    def open(
        self,
        key: UUID,
        task: str,
        context: TaskContext,
        task_type: TaskType,
        metadata: Mapping[str, str] | None = None,
    ) -> UUID:
        """Start an episode for run ``key`` and return its id."""
        limit = self.memory.config.limits.max_description_bytes
        data = task.encode()
        if len(data) > limit:
            task = data[: limit - 3].decode(errors="ignore") + "…"
        episode_id = self.memory.start_episode(task, context, task_type, metadata=metadata)
        with self._lock:
            self._runs[key] = _Run(episode_id)
        return episode_id

    def call_started(
        self,
        key: UUID,
        call_key: UUID,
        tool: str,
        action: str,
        parameters: dict[str, Any],
        metadata: dict[str, str],
    ) -> None:
        """A tool call of run ``key`` started (ignored if the run is not recorded)."""
        call = _Call(tool, action, parameters, metadata, datetime.now(UTC), time.perf_counter())
        with self._lock:
            run = self._runs.get(key)
            if run is None:
                return
            run.calls.append(call)
            self._calls[call_key] = (run, call)

    def call_finished(self, call_key: UUID, result: ExecutionResult) -> None:
        """A tool call finished; log it (and any held-back later calls) in start order."""
        t1 = time.perf_counter()
        with self._lock:
            found = self._calls.pop(call_key, None)
            if found is None:
                return
            run, call = found
            call.result = result
            call.latency_ms = (t1 - call.t0) * 1000.0
            call.done = True
            self._drain(run)

    def _drain(self, run: _Run) -> None:
        while run.calls and run.calls[0].done:
            self.memory.log_step(run.episode_id, run.calls.popleft().step())

    def add_usage(self, key: UUID, usage: TokenUsage) -> None:
        """Add one model call's token usage to run ``key``."""
        with self._lock:
            run = self._runs.get(key)
            if run is not None:
                run.usage = usage if run.usage is None else run.usage + usage

    def set_outcome(self, key: UUID, outcome: TaskOutcome) -> None:
        """Use ``outcome`` for run ``key`` instead of the automatic one."""
        with self._lock:
            run = self._runs.get(key)
            if run is None:
                raise InvalidInputError(f"run {key} is not being recorded (finished or unknown)")
            run.outcome = outcome

    def close(self, key: UUID, outcome: TaskOutcome | Callable[[], TaskOutcome]) -> Episode | None:
        """Complete run ``key``'s episode; an outcome set with `set_outcome` wins.

        ``outcome`` may be a callable, evaluated only when no outcome was set. Calls still
        running are logged as errors ("did not finish"). Returns the stored episode.
        """
        t1 = time.perf_counter()
        with self._lock:
            run = self._runs.pop(key, None)
            if run is None:
                return None
            if run.calls:
                self._calls = {k: v for k, v in self._calls.items() if v[0] is not run}
            for call in run.calls:
                if not call.done:
                    call.result = ExecutionResult.error("did not finish before the run ended")
                    call.latency_ms = (t1 - call.t0) * 1000.0
                    call.done = True
            self._drain(run)
        final = run.outcome or (outcome() if callable(outcome) else outcome)
        episode = self.memory.complete_episode(run.episode_id, final, token_usage=run.usage)
        self.last_episode = episode
        return episode
