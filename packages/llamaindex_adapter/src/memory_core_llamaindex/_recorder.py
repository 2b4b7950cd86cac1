"""Framework-neutral bookkeeping of in-flight runs: one run -> one episode.

The instrumentation handlers translate LlamaIndex spans and events into the calls below;
this module owns the per-run state (open tool calls, token usage, outcome override) and
talks to the memory. It is thread-safe: every public method takes one lock.

Tool steps are written to the memory as soon as they finish, in the order the calls
*started*: a call that finishes before an earlier-started one waits until that one is
done, so parallel tool calls still come out in start order.
"""

from __future__ import annotations

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
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
    TokenUsage,
)
from memory_core_llamaindex._convert import clip_bytes

__all__ = ["OutcomeFn", "RunRecorder", "RunSummary"]

_MAX_REASON_CHARS = 500
_KEEP_COMPLETED = 10_000  # ids of recently completed episodes kept for inspection


@dataclass(frozen=True)
class RunSummary:
    """How a recorded run ended; handed to ``outcome_fn`` to decide the episode's outcome.

    Attributes:
        episode_id: The episode recording the run.
        run_id: The framework's id for the run (the workflow run id), when known.
        task_description: The run's task (its user message).
        final_response: The agent's final answer text, if it produced one.
        error: The exception that ended the run, if it failed.
        cancelled: True when the run was cancelled.
        steps: The tool steps recorded for the run, in order.
    """

    episode_id: UUID
    run_id: str | None
    task_description: str
    final_response: str | None
    error: BaseException | None
    cancelled: bool
    steps: tuple[ExecutionStep, ...]


OutcomeFn = Callable[[RunSummary], TaskOutcome | None]
"""Decides a run's outcome from its summary; return None to keep the default."""


@dataclass
class _Call:
    tool: str
    action: str
    parameters: dict[str, Any]
    started_at: datetime
    started: float
    metadata: dict[str, str]
    result: ExecutionResult | None = None
    latency_ms: float = 0.0
    done: bool = False


@dataclass
class _Run:
    episode_id: UUID
    run_id: str | None
    task: str
    calls: dict[str, _Call] = field(default_factory=dict)  # insertion order = start order
    logged: list[ExecutionStep] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)
    outcome: TaskOutcome | None = None


class RunRecorder:
    """Records runs as episodes of one memory.

    Args:
        memory: The blocking view of the memory to write to.
        context: Task context given to every episode.
        task_type: Task type given to every episode.
        outcome_fn: Optional function choosing the outcome from a `RunSummary`.
    """

    def __init__(
        self,
        memory: SyncSelfLearningMemory,
        *,
        context: TaskContext | Mapping[str, Any] | None,
        task_type: TaskType | str,
        outcome_fn: OutcomeFn | None,
    ) -> None:
        self._memory = memory
        self._context = context
        self._task_type = task_type
        self._outcome_fn = outcome_fn
        self._limits = memory.config.limits
        self._lock = threading.RLock()
        self._runs: dict[str, _Run] = {}
        self._call_run: dict[str, str] = {}
        self.completed: deque[UUID] = deque(maxlen=_KEEP_COMPLETED)

    # ----------------------------------------------------------------- queries

    def has_run(self, key: str) -> bool:
        """True while the run ``key`` is being recorded."""
        with self._lock:
            return key in self._runs

    def episode_id(self, key: str) -> UUID | None:
        """The episode id of the in-flight run ``key``."""
        with self._lock:
            run = self._runs.get(key)
            return None if run is None else run.episode_id

    def is_call(self, call_key: str) -> bool:
        """True while ``call_key`` is an open tool call of a recorded run."""
        with self._lock:
            return call_key in self._call_run

    def find_by_run_id(self, run_id: str) -> str | None:
        """The key of the in-flight run whose framework run id is ``run_id``."""
        with self._lock:
            for key, run in self._runs.items():
                if run.run_id == run_id:
                    return key
            return None

    def open_episodes(self) -> list[UUID]:
        """Episode ids of the runs still in flight."""
        with self._lock:
            return [run.episode_id for run in self._runs.values()]

    # ----------------------------------------------------------------- updates

    def start_run(
        self, key: str, task: str, *, run_id: str | None, metadata: Mapping[str, str]
    ) -> UUID:
        """Start an episode for the run ``key`` and return its id."""
        task = clip_bytes(task, self._limits.max_description_bytes)
        episode_id = self._memory.start_episode(
            task, self._context, self._task_type, metadata=metadata
        )
        with self._lock:
            self._runs[key] = _Run(episode_id=episode_id, run_id=run_id, task=task)
        return episode_id

    def start_call(
        self,
        run_key: str,
        call_key: str,
        tool: str,
        action: str,
        parameters: dict[str, Any],
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Note that a tool call started (its step is logged when it finishes)."""
        with self._lock:
            run = self._runs.get(run_key)
            if run is None:
                return
            run.calls[call_key] = _Call(
                tool=tool or "unknown-tool",
                action=action or f"call {tool}",
                parameters=parameters,
                started_at=datetime.now(UTC),
                started=time.perf_counter(),
                metadata=dict(metadata or {}),
            )
            self._call_run[call_key] = run_key

    def end_call(self, call_key: str, result: ExecutionResult) -> None:
        """Finish a tool call with its result and log every step that is now in order."""
        with self._lock:
            run_key = self._call_run.pop(call_key, None)
            run = None if run_key is None else self._runs.get(run_key)
            if run is None:
                return
            call = run.calls.get(call_key)
            if call is None or call.done:
                return
            call.latency_ms = (time.perf_counter() - call.started) * 1000.0
            call.result = result
            call.done = True
            self._log_ready(run, final=False)

    def add_usage(self, run_key: str, usage: TokenUsage) -> None:
        """Add one LLM call's token usage to the run."""
        with self._lock:
            run = self._runs.get(run_key)
            if run is not None:
                run.usage = run.usage + usage

    def set_outcome(self, run_key: str, outcome: TaskOutcome) -> None:
        """Override the outcome the run will be completed with."""
        with self._lock:
            run = self._runs.get(run_key)
            if run is not None:
                run.outcome = outcome

    def finish_run(
        self,
        key: str,
        *,
        final_response: str | None,
        error: BaseException | None,
        cancelled: bool,
    ) -> Episode | None:
        """Complete the run's episode (steps still open are logged without a result)."""
        with self._lock:
            run = self._runs.get(key)
            if run is None:
                return None
            for call_key in run.calls:
                self._call_run.pop(call_key, None)
            del self._runs[key]
            log_error: Exception | None = None
            try:
                self._log_ready(run, final=True)
            except Exception as exc:  # the episode is still completed; the error is re-raised
                log_error = exc
        summary = RunSummary(
            episode_id=run.episode_id,
            run_id=run.run_id,
            task_description=run.task,
            final_response=final_response,
            error=error,
            cancelled=cancelled,
            steps=tuple(run.logged),
        )
        outcome = run.outcome
        if outcome is None and self._outcome_fn is not None:
            outcome = self._outcome_fn(summary)
        if outcome is None:
            outcome = default_outcome(summary)
        usage = run.usage if run.usage.llm_calls else None
        episode = self._memory.complete_episode(run.episode_id, outcome, token_usage=usage)
        with self._lock:
            self.completed.append(run.episode_id)
        if log_error is not None:
            raise log_error
        return episode

    def _log_ready(self, run: _Run, *, final: bool) -> None:
        """Log finished calls from the front of the start-ordered queue.

        With ``final`` every remaining call is logged (unfinished ones without a result).
        A step the memory rejects is skipped; the first such error is raised at the end.
        """
        first_error: Exception | None = None
        while run.calls:
            call_key, call = next(iter(run.calls.items()))
            if not call.done and not final:
                break
            del run.calls[call_key]
            step = ExecutionStep(
                tool=call.tool,
                action=call.action,
                parameters=call.parameters,
                result=call.result,
                latency_ms=call.latency_ms,
                timestamp=call.started_at,
                metadata=call.metadata,
            )
            try:
                run.logged.append(self._memory.log_step(run.episode_id, step))
            except Exception as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error


def default_outcome(summary: RunSummary) -> TaskOutcome:
    """Success with the final answer when the run returned, failure when it raised."""
    if summary.cancelled:
        return TaskOutcome.failure("the run was cancelled before it finished")
    if summary.error is not None:
        err = summary.error
        text = f"{type(err).__name__}: {err}"
        return TaskOutcome.failure(
            clip_bytes(f"the run failed: {text}", _MAX_REASON_CHARS), error_details=text
        )
    verdict = (summary.final_response or "").strip() or "the run finished"
    return TaskOutcome.success(clip_bytes(verdict, _MAX_REASON_CHARS))
