"""Record framework runs as episodes: the one state machine every adapter drives.

A framework adapter (LangChain callbacks, LlamaIndex instrumentation, your own) only
converts framework objects and calls a `RunRecorder`; the recorder owns everything else:

* one in-flight episode per *run*, keyed by any hashable id the framework has;
* open tool calls with their start time. Calls may finish out of order (parallel tool
  calls): a finished call waits until every call started before it has finished, so the
  steps are logged in the order the calls *started*;
* token usage summed over model calls, an outcome chosen with `RunRecorder.set_outcome`,
  an ``outcome_fn`` deciding from a `RunSummary`, or a default from how the run ended;
* clipping to the memory's size limits (description, step output, parameters, steps per
  episode), so a long run is recorded rather than rejected;
* error containment: an event method never raises into the host (unless ``strict``); a
  failure is logged and counted in `RunRecorder.errors`. Adapters report failures of their
  own conversion code through `RunRecorder.failed`, so there is one counter.

It is thread-safe (one lock; the database write of `RunRecorder.finish_run` happens outside
it) and writes through the blocking view (``memory.sync``) of either facade, so it can be
called from callbacks in threads and event loops alike.

With ``background=True`` (what the framework adapters use) the host thread only keeps the
run's state: logging the steps and completing the episode (scoring, reflection, the JSON
the caches keep) happen in order on one shared recording thread, every
``flush_interval_ms`` (so they are durable within twice that). The memory drains that
queue before it answers a read, a search, a log or completion, a flush or ``close``, so a
finished run's episode is completed and searchable for the code after ``invoke`` exactly
as if it had been completed inline.

Example:
    >>> recorder = RunRecorder(memory, context={"domain": "web-api"})  # doctest: +SKIP
    >>> recorder.start_run("run-1", "Fix the failing login test")  # doctest: +SKIP
    >>> recorder.start_call("run-1", "call-1", "pytest", "run the suite", {"path": "tests"})
    ... # doctest: +SKIP
    >>> recorder.end_call("call-1", "1 failed")  # or error=exc  # doctest: +SKIP
    >>> episode = recorder.finish_run("run-1", final_response="fixed")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from pydantic_core import to_json

from memory_core.errors import InvalidInputError
from memory_core.formatting import clip_bytes
from memory_core.memory import SelfLearningMemory, SyncSelfLearningMemory
from memory_core.models import (
    Episode,
    ExecutionResult,
    ExecutionStep,
    TaskContext,
    TaskOutcome,
    TaskType,
    TokenUsage,
)

__all__ = ["OutcomeFn", "RecorderStats", "RunRecorder", "RunSummary", "default_outcome"]

logger = logging.getLogger(__name__)

KEEP_COMPLETED = 10_000
"""How many ids of completed episodes `RunRecorder.completed_episodes` keeps."""

_MAX_OUTCOME_BYTES = 1_000
_MAX_DETAILS_BYTES = 4_000
_MAX_TOOL_CHARS = 500  # ExecutionStep.tool's limit
_UNFINISHED = "did not finish before the run ended"
_COUNTED = "__memory_core_recorder__"  # marks an exception already counted by a recorder


@dataclass(frozen=True, slots=True)
class RunSummary:
    """How a recorded run ended; handed to ``outcome_fn`` to decide the episode's outcome.

    Attributes:
        run_id: The id the run was recorded under (`RunRecorder.start_run`).
        episode_id: The episode recording the run.
        task_description: The run's task (as stored, clipped to the size limit).
        metadata: The episode metadata given at the start (framework ids live here).
        steps: The steps logged for the run, in start order.
        token_usage: Token usage summed over the run's model calls (None if none).
        output: The framework's final output object (None when the run failed).
        final_response: The final answer as text, if the adapter found one.
        error: The exception that ended the run, if it failed.
        cancelled: True when the run was cancelled before it finished.
    """

    run_id: Hashable
    episode_id: UUID
    task_description: str
    metadata: Mapping[str, str]
    steps: tuple[ExecutionStep, ...]
    token_usage: TokenUsage | None
    output: Any = None
    final_response: str | None = None
    error: BaseException | None = None
    cancelled: bool = False


OutcomeFn = Callable[[RunSummary], TaskOutcome | Mapping[str, Any] | None]
"""Decides a run's outcome from its `RunSummary`; return None to keep the default."""


def _error_text(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error or "error"
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def default_outcome(summary: RunSummary) -> TaskOutcome:
    """The outcome of a run nobody decided on: how the run ended.

    Failure ("the run was cancelled ...") when cancelled; failure with ``"Type: message"``
    as reason and the exception's repr as details when it raised; otherwise success with
    the final response (or "the run finished") as verdict.
    """
    if summary.cancelled:
        return TaskOutcome.failure("the run was cancelled before it finished")
    if summary.error is not None:
        return TaskOutcome.failure(
            clip_bytes(_error_text(summary.error), _MAX_OUTCOME_BYTES),
            error_details=clip_bytes(repr(summary.error), _MAX_DETAILS_BYTES),
        )
    verdict = (summary.final_response or "").strip() or "the run finished"
    return TaskOutcome.success(clip_bytes(verdict, _MAX_OUTCOME_BYTES))


def _as_outcome(value: TaskOutcome | Mapping[str, Any]) -> TaskOutcome:
    if isinstance(value, TaskOutcome):
        return value
    try:
        return TaskOutcome.model_validate(value)
    except ValidationError as exc:
        raise InvalidInputError(
            f"not a valid outcome ({exc}); build one with TaskOutcome.success(...), "
            ".failure(...), .partial_success(...) or .abstained(...)"
        ) from exc


@dataclass(slots=True)
class _Call:
    """One tool call, from start to end."""

    call_id: Hashable
    tool: str
    action: str
    parameters: dict[str, Any]
    metadata: dict[str, str]
    started_at: datetime
    t0: float
    result: ExecutionResult | None = None
    latency_ms: float = 0.0
    done: bool = False
    raw: tuple[ExecutionResult | str, BaseException | str | None] = ("", None)  # to build result


@dataclass(slots=True)
class _Run:
    """An episode being recorded."""

    episode_id: UUID
    task: str
    metadata: dict[str, str]
    calls: deque[_Call] = field(default_factory=deque)  # unlogged calls, in start order
    logged: list[ExecutionStep] = field(default_factory=list)
    taken: int = 0  # steps logged or queued to be (the step limit counts these)
    dropped: int = 0
    usage: TokenUsage | None = None
    tokens: list[int] | None = None  # input, output, total, calls: from `add_tokens`
    outcome: TaskOutcome | None = None


_Failures = list[tuple[Exception, str]]
_MIN_TICK = 0.01  # seconds: the recording thread wakes at most 100 times a second


class _RecordingThread:
    """The process's recording thread: runs queued memory writes of recorders, in order.

    Writes wait for the next tick (the shortest flush interval of the memories written
    to) or for a reader draining a recorder, so that a host busy with its runs is not
    interrupted at each step or run.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[tuple[RunRecorder, UUID, Callable[[], object]]] = deque()
        self._urgent = False
        self._tick = 0.1
        self._thread: threading.Thread | None = None

    def submit(self, recorder: RunRecorder, episode_id: UUID, op: Callable[[], object]) -> None:
        """Queue ``op`` (it must not raise) writing to ``episode_id``; it runs at the next tick.

        Never wakes the thread: on a busy machine, waking a thread from the host's can
        cost the host its CPU for a while; readers that need the write now drain.
        """
        with self._cond:
            self._ensure_thread()
            self._tick = min(self._tick, max(_MIN_TICK, recorder._tick))
            self._queue.append((recorder, episode_id, op))
            recorder._queued += 1
            waiting = recorder._queued_for
            waiting[episode_id] = waiting.get(episode_id, 0) + 1

    def drain(self, recorder: RunRecorder, timeout: float | None = None) -> bool:
        """Wait until ``recorder`` has no queued writes; False if ``timeout`` ran out.

        Returns at once on the recording thread itself (its own writes come first).
        """
        if recorder._queued == 0 or threading.current_thread() is self._thread:
            return True
        with self._cond:
            self._ensure_thread()  # (gone in a forked child, say)
            self._urgent = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: recorder._queued == 0, timeout)

    def _ensure_thread(self) -> None:
        """Start the thread if it is not running (under the lock)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="memory-core-recording", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                # Every tick, or at once when a reader drains.
                self._cond.wait_for(lambda: self._urgent, self._tick)
                self._urgent = False
                batch = list(self._queue)
                self._queue.clear()
            if not batch:
                continue
            for _, _, op in batch:
                try:
                    op()
                except BaseException:  # an op reports its own errors; never stop the thread
                    logger.exception("memory-core: a recording write failed")
            with self._cond:
                for recorder, episode_id, _ in batch:
                    recorder._queued -= 1
                    waiting = recorder._queued_for
                    if waiting[episode_id] > 1:
                        waiting[episode_id] -= 1
                    else:
                        del waiting[episode_id]
                self._cond.notify_all()


_WORKER = _RecordingThread()


class RunRecorder:
    """Records framework runs (keyed by any hashable id) as episodes of one memory.

    Args:
        memory: Either facade; the recorder writes through its blocking view (``.sync``).
        context: Default task context of every run (a `TaskContext` or a mapping).
        task_type: Default task type of every run.
        outcome_fn: Decides a run's outcome from its `RunSummary` when nothing else did
            (return None to keep `default_outcome`). An exception it raises is counted
            and the default is used.
        strict: Re-raise recording errors (after logging and counting them) instead of
            swallowing them; the episode is still completed first where possible.
        background: Log steps and complete episodes on the recording thread instead of
            the caller's (see the module docs); `finish_run` then returns None, and the
            memory waits for the queued writes before any read. Ignored when ``strict``
            (errors must reach the caller).

    Raises:
        InvalidInputError: ``memory`` is not a memory, or the context or task type is bad.
    """

    def __init__(
        self,
        memory: SelfLearningMemory | SyncSelfLearningMemory,
        *,
        context: TaskContext | Mapping[str, Any] | None = None,
        task_type: TaskType | str = TaskType.OTHER,
        outcome_fn: OutcomeFn | None = None,
        strict: bool = False,
        background: bool = False,
    ) -> None:
        if not isinstance(memory, SelfLearningMemory | SyncSelfLearningMemory):
            raise InvalidInputError(
                "memory must be a SelfLearningMemory or SyncSelfLearningMemory, "
                f"not {type(memory).__name__}"
            )
        self._memory = memory.sync
        self._limits = self._memory.config.limits
        try:
            self.context = (
                context
                if isinstance(context, TaskContext)
                else TaskContext.model_validate(dict(context or {}))
            )
            self.task_type = TaskType(task_type)
        except (ValidationError, ValueError, TypeError) as exc:
            raise InvalidInputError(f"invalid default context or task type: {exc}") from exc
        self.outcome_fn = outcome_fn
        self.strict = strict
        self._lock = threading.Lock()
        self._runs: dict[Hashable, _Run] = {}
        self._calls: dict[Hashable, tuple[_Run, _Call]] = {}
        self._completed: deque[UUID] = deque(maxlen=KEEP_COMPLETED)
        self._errors = 0
        self._last_error: BaseException | None = None
        self._first_error: BaseException | None = None
        self._last_episode: Episode | None = None
        self._background = background and not strict
        self._queued = 0  # writes waiting on the recording thread (changed under its lock)
        self._queued_for: dict[UUID, int] = {}  # the same, per episode
        self._tick = self._memory.config.flush_interval_ms / 1000.0  # recording-thread wakeups
        if self._background:
            self._memory.engine.add_writer(weakref.WeakMethod(self._settle))

    # ---------------------------------------------------------------- queries

    @property
    def background(self) -> bool:
        """True when steps and completions are written on the recording thread."""
        return self._background

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until the writes queued on the recording thread are done (see ``background``).

        Returns:
            False if ``timeout`` (seconds) ran out first; True otherwise.
        """
        return _WORKER.drain(self, timeout)

    def _settle(self, episode_id: UUID | None) -> None:
        """`drain` for the memory: only when writes to ``episode_id`` are queued (if given)."""
        if episode_id is None or episode_id in self._queued_for:
            self.drain()

    @property
    def memory(self) -> SyncSelfLearningMemory:
        """The blocking view the recorder writes through."""
        return self._memory

    @property
    def max_output_bytes(self) -> int:
        """The memory's limit on a step's output or error (adapters may clip to it early)."""
        return self._limits.max_step_output_bytes

    def is_open(self, run_id: Hashable) -> bool:
        """True while run ``run_id`` is being recorded."""
        return run_id in self._runs

    def has_call(self, call_id: Hashable) -> bool:
        """True while ``call_id`` is an open tool call of a recorded run."""
        return call_id in self._calls

    def episode_id(self, run_id: Hashable) -> UUID | None:
        """The episode id of the open run ``run_id``, or None."""
        run = self._runs.get(run_id)
        return None if run is None else run.episode_id

    def open_runs(self) -> list[Hashable]:
        """The ids of the runs being recorded, oldest first."""
        with self._lock:
            return list(self._runs)

    def open_episodes(self) -> list[UUID]:
        """The episode ids of the runs being recorded, oldest first."""
        with self._lock:
            return [run.episode_id for run in self._runs.values()]

    def find_run(self, key: str, value: str) -> Hashable | None:
        """The id of the open run whose start metadata has ``key == value``, or None.

        For looking a run up by another of the framework's ids, e.g. a workflow run id
        passed as ``metadata={"run_id": ...}`` to `start_run`.
        """
        with self._lock:
            for run_id, run in self._runs.items():
                if run.metadata.get(key) == value:
                    return run_id
        return None

    @property
    def completed_episodes(self) -> list[UUID]:
        """Ids of the episodes completed so far, oldest first (the latest 10 000)."""
        self.drain()
        with self._lock:
            return list(self._completed)

    @property
    def last_episode(self) -> Episode | None:
        """The most recently completed episode (None before the first run ends)."""
        self.drain()
        return self._last_episode

    # ----------------------------------------------------------------- errors

    @property
    def errors(self) -> int:
        """How many recording errors were logged and counted."""
        self.drain()
        return self._errors

    @property
    def last_error(self) -> BaseException | None:
        """The latest recording error (None if there was none)."""
        self.drain()
        return self._last_error

    def take_first_error(self) -> BaseException | None:
        """The first recording error not taken yet, and forget it (for deferred raising)."""
        self.drain()
        with self._lock:
            error, self._first_error = self._first_error, None
        return error

    def failed(self, exc: BaseException, where: str) -> None:
        """Log and count a recording error; re-raise it when ``strict``.

        Adapters call this for failures of their own conversion code. An exception the
        recorder already counted (re-raised in strict mode) is not counted again.
        """
        if getattr(exc, _COUNTED, None) is not self:
            self._count(exc, where)
        if self.strict:
            raise exc

    def _count(self, exc: BaseException, where: str) -> None:
        with contextlib.suppress(AttributeError):  # an exception class without a __dict__
            setattr(exc, _COUNTED, self)
        with self._lock:
            self._errors += 1
            self._last_error = exc
            if self._first_error is None:
                self._first_error = exc
        logger.warning("memory-core: recording failed in %s: %r", where, exc)
        logger.debug("memory-core recording error", exc_info=exc)

    def _report(self, failures: _Failures) -> None:
        """Count every failure of one event; in strict mode raise the first."""
        for exc, where in failures:
            self._count(exc, where)
        if failures and self.strict:
            raise failures[0][0]

    # ----------------------------------------------------------------- events

    def start_run(
        self,
        run_id: Hashable,
        task_description: str,
        *,
        context: TaskContext | Mapping[str, Any] | None = None,
        task_type: TaskType | str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> UUID | None:
        """Start an episode for run ``run_id``; return its id (None if it could not start).

        The description is clipped to ``limits.max_description_bytes`` ("Agent run" when
        blank); ``context`` and ``task_type`` default to the recorder's.
        """
        try:
            if run_id in self._runs:
                raise InvalidInputError(f"run {run_id!r} is already being recorded")
            limit = self._limits.max_description_bytes
            task = clip_bytes(task_description.strip() or "Agent run", limit)
            meta = dict(metadata or {})
            episode_id = self._memory.start_episode(
                task,
                self.context if context is None else context,
                self.task_type if task_type is None else task_type,
                metadata=meta,
            )
        except Exception as exc:
            self._report([(exc, "start_run")])
            return None
        with self._lock:
            self._runs[run_id] = _Run(episode_id, task, meta)
        return episode_id

    def start_call(
        self,
        run_id: Hashable,
        call_id: Hashable,
        tool: str,
        action: str = "",
        parameters: Mapping[str, Any] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """A tool call of run ``run_id`` started (ignored when the run is not recorded).

        A blank ``tool`` is recorded as "unknown-tool", a blank ``action`` as "call <tool>".
        """
        if not tool or len(tool) > _MAX_TOOL_CHARS or tool.isspace():
            tool = (tool or "").strip()[:_MAX_TOOL_CHARS] or "unknown-tool"
        if not action or action.isspace():
            action = f"call {tool}"
        call = _Call(
            call_id,
            tool,
            action,
            dict(parameters) if parameters else {},
            dict(metadata) if metadata else {},
            datetime.now(UTC),
            time.perf_counter(),
        )
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None:
                run.calls.append(call)
                self._calls[call_id] = (run, call)

    def end_call(
        self,
        call_id: Hashable,
        result: ExecutionResult | str = "",
        *,
        error: BaseException | str | None = None,
    ) -> None:
        """A tool call finished: with ``result`` (a str is a success output) or ``error``.

        Its step, and every later-started call that already finished, is then logged in
        start order. Output and error text are clipped to ``limits.max_step_output_bytes``.
        Unknown (or already finished) calls are ignored.
        """
        t1 = time.perf_counter()
        if call_id not in self._calls:
            return
        outcome: ExecutionResult | None = None  # built on the recording thread in background
        if not self._background:
            try:
                outcome = self._result(result, error)
            except Exception as exc:
                self._report([(exc, "end_call")])
                return
        with self._lock:
            found = self._calls.pop(call_id, None)
            if found is None:
                return
            run, call = found
            call.result = outcome
            call.raw = (result, error)
            call.latency_ms = (t1 - call.t0) * 1000.0
            call.done = True
            failures = self._drain(run)
        if failures:
            self._report(failures)

    def _result(
        self, result: ExecutionResult | str, error: BaseException | str | None
    ) -> ExecutionResult:
        """A call's result, its output or error clipped to the step output limit."""
        limit = self._limits.max_step_output_bytes
        if error is not None:
            return ExecutionResult.error(clip_bytes(_error_text(error), limit))
        if isinstance(result, str):
            return ExecutionResult.success(clip_bytes(result, limit))
        text = result.output if result.output is not None else result.message
        fits = text is None or len(text) * 4 <= limit  # the usual case, no encoding
        return result if fits else _clip_result(result, limit)

    def add_usage(self, run_id: Hashable, usage: TokenUsage) -> None:
        """Add one model call's token usage to run ``run_id`` (ignored if not recorded)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None:
                run.usage = usage if run.usage is None else run.usage + usage

    def add_tokens(
        self,
        run_id: Hashable,
        input_tokens: int = 0,
        output_tokens: int = 0,
        total_tokens: int = 0,
        llm_calls: int = 1,
    ) -> None:
        """`add_usage` from plain counts (cheaper: no model is built per call).

        ``total_tokens`` defaults to input + output when 0. Negative counts are an error.
        """
        counts = (input_tokens, output_tokens, total_tokens or input_tokens + output_tokens)
        if min(*counts, llm_calls) < 0:
            raise InvalidInputError(f"token counts must be >= 0, got {counts} ({llm_calls} calls)")
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return
            if run.tokens is None:
                run.tokens = [*counts, llm_calls]
            else:
                tokens = run.tokens
                tokens[0] += counts[0]
                tokens[1] += counts[1]
                tokens[2] += counts[2]
                tokens[3] += llm_calls

    def set_outcome(
        self, outcome: TaskOutcome | Mapping[str, Any], *, run_id: Hashable | None = None
    ) -> None:
        """Use ``outcome`` for a run instead of the automatic one (it applies at the end).

        Args:
            outcome: The outcome to record (a `TaskOutcome` or its mapping form).
            run_id: The run; optional when exactly one run is being recorded.

        Raises:
            InvalidInputError: A bad outcome, an unknown run, or no ``run_id`` while zero
                or several runs are being recorded.
        """
        value = _as_outcome(outcome)
        with self._lock:
            if run_id is None:
                if len(self._runs) != 1:
                    raise InvalidInputError(
                        f"{len(self._runs)} runs are being recorded; set_outcome() without "
                        "run_id needs exactly one (pass run_id=... to choose, and call it "
                        "before the run ends)"
                    )
                [run] = self._runs.values()
            else:
                found = self._runs.get(run_id)
                if found is None:
                    raise InvalidInputError(
                        f"run {run_id!r} is not being recorded (it finished, or never started)"
                    )
                run = found
            run.outcome = value

    def finish_run(
        self,
        run_id: Hashable,
        *,
        output: Any = None,
        final_response: str | None = None,
        error: BaseException | None = None,
        cancelled: bool = False,
        outcome: TaskOutcome | None = None,
    ) -> Episode | None:
        """Complete run ``run_id``'s episode and return it (None if not recorded or failed).

        Calls still open are logged as errors ("did not finish before the run ended"). The
        outcome is, first found: the one given to `set_outcome`; ``outcome`` (the adapter's
        own verdict); ``outcome_fn(summary)``; `default_outcome` (from ``error``,
        ``cancelled`` and ``final_response``). Steps beyond ``max_steps_per_episode`` were
        dropped; their number is stored in the episode's metadata as ``dropped_steps``.
        With ``background=True`` the episode is completed on the recording thread and this
        returns None (`last_episode` waits for it).
        """
        t1 = time.perf_counter()
        with self._lock:
            run = self._runs.pop(run_id, None)
            if run is None:
                return None
            for call in run.calls:
                self._calls.pop(call.call_id, None)
                if not call.done:
                    call.result = ExecutionResult.error(_UNFINISHED)
                    call.latency_ms = (t1 - call.t0) * 1000.0
                    call.done = True
            failures = self._drain(run)
        summary = RunSummary(
            run_id=run_id,
            episode_id=run.episode_id,
            task_description=run.task,
            metadata=run.metadata,
            steps=tuple(run.logged),
            token_usage=None if self._background else _usage(run),
            output=output,
            final_response=final_response,
            error=error,
            cancelled=cancelled,
        )
        final = run.outcome or outcome
        if final is None and self.outcome_fn is not None:
            if self._background:
                self.drain()  # the summary's steps are logged on the recording thread
                summary = replace(summary, steps=tuple(run.logged), token_usage=_usage(run))
            try:
                chosen = self.outcome_fn(summary)
                final = None if chosen is None else _as_outcome(chosen)
            except Exception as exc:
                failures.append((exc, "outcome_fn"))
        if self._background:
            complete = functools.partial(self._complete, run, final, summary, failures)
            _WORKER.submit(self, run.episode_id, complete)
            return None
        return self._complete(run, final, summary, failures)

    def _complete(
        self,
        run: _Run,
        final: TaskOutcome | None,
        summary: RunSummary,
        failures: _Failures,
    ) -> Episode | None:
        """Complete the run's episode, then report the failures of its last event."""
        extra = {"dropped_steps": str(run.dropped)} if run.dropped else None
        episode: Episode | None = None
        try:
            episode = self._memory.complete_episode(
                run.episode_id,
                final or default_outcome(summary),
                token_usage=_usage(run),
                metadata=extra,
            )
        except Exception as exc:
            failures.append((exc, "finish_run"))
        else:
            with self._lock:
                self._completed.append(episode.episode_id)
                self._last_episode = episode
        if failures:
            self._report(failures)
        return episode

    # -------------------------------------------------------------- internals

    def _drain(self, run: _Run) -> _Failures:
        """Log the finished calls at the front of the run's queue (under the lock)."""
        failures: _Failures = []
        calls = run.calls
        max_steps = self._limits.max_steps_per_episode
        while calls and calls[0].done:
            call = calls.popleft()
            if run.taken >= max_steps:
                if not run.dropped:
                    logger.warning(
                        "memory-core: episode %s reached max_steps_per_episode (%d); later "
                        "steps are dropped and counted in its metadata",
                        run.episode_id,
                        max_steps,
                    )
                run.dropped += 1
                continue
            run.taken += 1
            if self._background:
                _WORKER.submit(self, run.episode_id, functools.partial(self._log_queued, run, call))
                continue
            try:
                run.logged.append(self._log(run.episode_id, call))
            except Exception as exc:  # this step is lost; the others go on
                run.taken -= 1
                failures.append((exc, "log_step"))
        return failures

    def _log_queued(self, run: _Run, call: _Call) -> None:
        """`_log` on the recording thread: the step joins the run's summary, or is counted."""
        try:
            if call.result is None:
                call.result = self._result(*call.raw)
            step = self._log(run.episode_id, call)
        except Exception as exc:  # this step is lost; the others go on
            with self._lock:
                run.taken -= 1
            self._report([(exc, "log_step")])
            return
        with self._lock:
            run.logged.append(step)

    def _log(self, episode_id: UUID, call: _Call) -> ExecutionStep:
        step = ExecutionStep(
            timestamp=call.started_at,
            tool=call.tool,
            action=call.action,
            parameters=call.parameters,
            result=call.result,
            latency_ms=call.latency_ms,
            metadata=call.metadata,
        )
        try:
            return self._memory.log_step(episode_id, step)
        except InvalidInputError:  # incl. PayloadTooLargeError: are the parameters at fault?
            clipped = self._clip_parameters(call.parameters)
            if clipped is None:
                raise
            return self._memory.log_step(episode_id, step.model_copy(update=clipped))

    def _clip_parameters(self, parameters: dict[str, Any]) -> dict[str, Any] | None:
        """An update replacing parameters over the limit by their clipped JSON (else None)."""
        if not parameters:
            return None
        limit = self._limits.max_parameters_bytes
        try:
            text = to_json(parameters).decode()
        except Exception:  # not JSON-serialisable: keep what it looks like
            text = repr(parameters)
        else:
            if len(text.encode()) <= limit:
                return None
        keep = max(0, limit // 2 - 32)  # room for escaping and the wrapping object
        return {"parameters": {"truncated": clip_bytes(text, keep)}}  # a model_copy update


def _usage(run: _Run) -> TokenUsage | None:
    """The run's token usage: `RunRecorder.add_usage` and `RunRecorder.add_tokens` summed."""
    if run.tokens is None:
        return run.usage
    inp, out, total, calls = run.tokens
    counted = TokenUsage(input_tokens=inp, output_tokens=out, total_tokens=total, llm_calls=calls)
    return counted if run.usage is None else run.usage + counted


def _clip_result(result: ExecutionResult, limit: int) -> ExecutionResult:
    """``result`` with its output or message clipped to ``limit`` bytes."""
    if result.output is not None:
        clipped = clip_bytes(result.output, limit)
        if clipped is not result.output:
            return result.model_copy(update={"output": clipped})
    if result.message is not None:
        clipped = clip_bytes(result.message, limit)
        if clipped is not result.message:
            return result.model_copy(update={"message": clipped})
    return result


class RecorderStats:
    """Mixin: what an adapter object recorded, read from the `RunRecorder` it owns.

    A framework adapter keeps its recorder in ``self._recorder`` and inherits `errors`,
    `last_error`, `last_episode` and `completed_episodes` from here, so every adapter
    reports the same way.
    """

    __slots__ = ()

    _recorder: RunRecorder

    @property
    def errors(self) -> int:
        """How many recording errors were logged and counted (never raised unless strict)."""
        return self._recorder.errors

    @property
    def last_error(self) -> BaseException | None:
        """The latest recording error (None if there was none)."""
        return self._recorder.last_error

    @property
    def last_episode(self) -> Episode | None:
        """The most recently completed episode (None before the first run ends)."""
        return self._recorder.last_episode

    @property
    def completed_episodes(self) -> list[UUID]:
        """Ids of the episodes completed so far, oldest first (the latest 10 000)."""
        return self._recorder.completed_episodes

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until the runs that ended are written: steps logged, episodes completed.

        Adapters write on the recording thread; the memory's own reads, searches, `flush`
        and `close` already wait for it, so this is only needed to time that work.

        Returns:
            False if ``timeout`` (seconds) ran out first.
        """
        return self._recorder.drain(timeout)
