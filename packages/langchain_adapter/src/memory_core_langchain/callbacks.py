"""`MemoryCallbackHandler`: record every LangChain run as a memory-core episode.

Attach it to any Runnable (an LCEL chain, a LangGraph graph, a ``create_agent`` agent)
with ``config={"callbacks": [handler]}``, or record everything started inside a block
with ``with capture(memory):``. The outermost run becomes one episode, each tool call a
step, each model call adds token usage, and the episode is completed (scored, stored and
queued for learning) once the outermost run ends.

One synchronous handler serves sync and async runs alike: ``run_inline = True`` makes
LangChain call it inline from the event loop instead of in a thread pool, and every
method only updates in-memory state under a lock. Logging the steps and completing the
episode happen on memory-core's recording thread (`memory_core.RunRecorder` with
``background=True``); the memory waits for it before any read, search, flush or close,
so the code after ``invoke`` finds the episode completed, as if it had been done inline.
``strict=True`` records on the host's thread instead, so that errors reach the run.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langchain_core.tracers.context import register_configure_hook

from memory_core import OutcomeFn as SummaryOutcomeFn
from memory_core import (
    RecorderStats,
    RunRecorder,
    RunSummary,
    TaskContext,
    TaskOutcome,
    TaskType,
    clip_bytes,
)
from memory_core_langchain._convert import (
    action_for,
    context_for_run,
    final_summary,
    jsonable,
    last_human_text,
    task_from_input,
    task_type_for_run,
    token_counts,
    tool_output,
)
from memory_core_langchain._lookup import AnyMemory

__all__ = ["MemoryCallbackHandler", "OutcomeFn", "capture", "on_final_output"]

F = TypeVar("F", bound=Callable[..., None])

OutcomeFn = Callable[[Any], TaskOutcome | Mapping[str, Any] | None]
"""Maps a run's final output to its outcome (None keeps the default success)."""


def on_final_output(outcome_fn: OutcomeFn | None) -> SummaryOutcomeFn | None:
    """Adapt an ``outcome_fn`` of the final output to the recorder's (successes only).

    LangChain's ``outcome_fn`` judges what a run returned; a run that raised keeps its
    failure outcome.
    """
    if outcome_fn is None:
        return None

    def decide(summary: RunSummary) -> TaskOutcome | Mapping[str, Any] | None:
        if summary.error is not None or summary.cancelled:
            return None
        return outcome_fn(summary.output)

    return decide


def _guarded(method: F) -> F:
    """Never let a recording error reach the host run (unless the handler is strict)."""

    @functools.wraps(method)
    def wrapper(self: MemoryCallbackHandler, *args: Any, **kwargs: Any) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception as exc:
            self._recorder.failed(exc, method.__name__)

    return cast(F, wrapper)


class MemoryCallbackHandler(RecorderStats, BaseCallbackHandler):
    """Records each outermost LangChain run as an episode in a memory-core memory.

    Args:
        memory: A `SelfLearningMemory` or `SyncSelfLearningMemory` (either works for sync
            and async runs).
        context: Default task context; run ``metadata`` keys ``domain``, ``language``,
            ``framework``, ``complexity`` and the run's tags refine it per run.
        task_type: Default task type; a run's ``metadata["task_type"]`` overrides it.
            (``metadata["task_description"]`` overrides the task taken from the input.)
        strict: Raise recording errors into the host run instead of logging and counting
            them in `errors` (for tests and debugging).
        outcome_fn: Maps the outermost run's final output to a `TaskOutcome` (return
            None to keep the default success).

    Example:
        >>> handler = MemoryCallbackHandler(memory, context=TaskContext(domain="math"))
        >>> agent.invoke({"messages": [("user", "add 2 and 3")]},
        ...              config={"callbacks": [handler]})  # doctest: +SKIP
    """

    run_inline = True
    """Called inline (in order, no thread pool) in async runs too."""

    def __init__(
        self,
        memory: AnyMemory,
        *,
        context: TaskContext | Mapping[str, Any] | None = None,
        task_type: TaskType | str = TaskType.OTHER,
        strict: bool = False,
        outcome_fn: OutcomeFn | None = None,
    ) -> None:
        self._recorder = RunRecorder(
            memory,
            context=context,
            task_type=task_type,
            outcome_fn=on_final_output(outcome_fn),
            strict=strict,
            background=True,
        )
        self.memory = memory
        self.context = self._recorder.context
        self.task_type = self._recorder.task_type
        self.strict = strict
        self.raise_error = strict
        self.outcome_fn = outcome_fn
        self._lock = threading.Lock()
        self._root_of: dict[UUID, UUID] = {}
        self._children: dict[UUID, list[UUID]] = {}

    # ----------------------------------------------------------- public API
    # (errors, last_error, last_episode, completed_episodes: from RecorderStats)

    def episode_id(self, run_id: UUID) -> UUID | None:
        """The episode id recording run ``run_id`` (or one of its child runs), if any."""
        root = self._root_of.get(run_id, run_id)
        return self._recorder.episode_id(root)

    def set_outcome(
        self, outcome: TaskOutcome | Mapping[str, Any], *, run_id: UUID | None = None
    ) -> None:
        """Override the outcome of a run in flight (it applies when the run ends).

        Args:
            outcome: The outcome to record.
            run_id: The outermost run, or any of its child runs. Optional when exactly one
                run is being recorded. To know it in advance, pass your own id:
                ``agent.invoke(inputs, config={"run_id": rid, "callbacks": [handler]})``.

        Raises:
            InvalidInputError: No run, several runs (pass ``run_id``), or an unknown run.
        """
        root = None if run_id is None else self._root_of.get(run_id, run_id)
        self._recorder.set_outcome(outcome, run_id=root)

    # --------------------------------------------------------- run tracking

    def _root_for(self, run_id: UUID, parent_run_id: UUID | None) -> UUID | None:
        """Register a child run under its root; return the root (None for a new root)."""
        if parent_run_id is None:
            return None
        with self._lock:
            root = self._root_of.get(parent_run_id)
            if root is None:
                return None
            self._root_of[run_id] = root
            self._children[root].append(run_id)
            return root

    def _start_root(
        self,
        run_id: UUID,
        kind: str,
        task: str | None,
        name: str | None,
        metadata: Mapping[str, Any] | None,
        tags: list[str] | None,
    ) -> None:
        description = task or f"Run {name or kind}"
        context = context_for_run(self.context, metadata, tags)
        task_type = task_type_for_run(self.task_type, metadata)
        meta = {"source": "langchain", "run_id": str(run_id)}
        if name:
            meta["run_name"] = name
        with self._lock:  # tracked even if the episode cannot start: children stay children
            self._root_of[run_id] = run_id
            self._children[run_id] = []
        self._recorder.start_run(
            run_id, description, context=context, task_type=task_type, metadata=meta
        )

    def _end_run(self, run_id: UUID) -> UUID | None:
        """Forget a finished run; return its id if it was a root (its episode must close)."""
        with self._lock:
            root = self._root_of.get(run_id)
            if root is None:
                return None
            if root != run_id:
                del self._root_of[run_id]
                return None
            for child in self._children.pop(run_id, ()):
                self._root_of.pop(child, None)
            del self._root_of[run_id]
            return run_id

    def _returned(self, run_id: UUID, output: Any, outcome: TaskOutcome | None = None) -> None:
        """Complete the episode of a root run that returned ``output``."""
        self._recorder.finish_run(
            run_id, output=output, final_response=final_summary(output), outcome=outcome
        )

    # ---------------------------------------------------------------- chains

    # The most frequent events (every graph node is a child chain run) are guarded inline:
    # no wrapper call on the host's hot path.

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: dict[str, Any] | Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Start an episode for an outermost run; track child runs."""
        try:
            if self._root_for(run_id, parent_run_id) is not None:
                return
            name = kwargs.get("name") or (serialized or {}).get("name")
            task = (metadata or {}).get("task_description") or task_from_input(inputs)
            self._start_root(run_id, "chain", task, name, metadata, tags)
        except Exception as exc:
            self._recorder.failed(exc, "on_chain_start")

    def on_chain_end(
        self,
        outputs: dict[str, Any] | Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Complete the episode (success) when the outermost run ends."""
        try:
            if self._end_run(run_id) is not None:
                self._returned(run_id, outputs)
        except Exception as exc:
            self._recorder.failed(exc, "on_chain_end")

    @_guarded
    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Complete the episode as a failure when the outermost run raises."""
        if self._end_run(run_id) is not None:
            self._recorder.finish_run(run_id, error=error)

    # ----------------------------------------------------------------- tools

    @_guarded
    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Open a step for a tool call (a tool invoked on its own is its own episode)."""
        tool = (serialized or {}).get("name") or kwargs.get("name") or "tool"
        root = self._root_for(run_id, parent_run_id)
        if root is None:
            self._start_root(run_id, "tool", input_str, tool, metadata, tags)
            root = run_id
        parameters = jsonable(inputs) if isinstance(inputs, dict) else {"input": input_str}
        step_meta = {"run_id": str(run_id)}
        tool_call_id = kwargs.get("tool_call_id")
        if tool_call_id:
            step_meta["tool_call_id"] = str(tool_call_id)
        self._recorder.start_call(
            root, run_id, str(tool), action_for(str(tool), parameters), parameters, step_meta
        )

    @_guarded
    def on_tool_end(
        self, output: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """Finish the step (a ``ToolMessage`` with ``status="error"`` is an error step)."""
        text, failed = tool_output(output)
        if failed:
            self._recorder.end_call(run_id, error=text)
        else:
            self._recorder.end_call(run_id, text)
        if self._end_run(run_id) is not None:
            outcome = None
            if failed:
                limit = self._recorder.max_output_bytes
                outcome = TaskOutcome.failure(clip_bytes(text, limit) or "tool reported an error")
            self._returned(run_id, output, outcome)

    @_guarded
    def on_tool_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Finish the step as an error."""
        self._recorder.end_call(run_id, error=error)
        if self._end_run(run_id) is not None:
            self._recorder.finish_run(run_id, error=error)

    # ---------------------------------------------------------------- models

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Track a chat-model call (a model invoked on its own is its own episode)."""
        try:
            if self._root_for(run_id, parent_run_id) is not None:
                return
            task = last_human_text(messages[-1]) if messages else None
            name = kwargs.get("name") or (serialized or {}).get("name")
            self._start_root(run_id, "chat_model", task, name, metadata, tags)
        except Exception as exc:
            self._recorder.failed(exc, "on_chat_model_start")

    @_guarded
    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Track a text-LLM call (a model invoked on its own is its own episode)."""
        if self._root_for(run_id, parent_run_id) is not None:
            return
        task = prompts[-1] if prompts else None
        name = kwargs.get("name") or (serialized or {}).get("name")
        self._start_root(run_id, "llm", task, name, metadata, tags)

    @_guarded
    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Add the call's token usage to its episode."""
        root = self._root_of.get(run_id)
        if root is None:
            return
        self._recorder.add_tokens(root, *token_counts(response))
        if self._end_run(run_id) is not None:
            generations = [g for gens in response.generations for g in gens]
            self._returned(run_id, generations[-1].text if generations else "")

    @_guarded
    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Forget the model call; fail the episode if the model was the outermost run."""
        if self._end_run(run_id) is not None:
            self._recorder.finish_run(run_id, error=error)

    # ------------------------------------------------------------ retrievers

    @_guarded
    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Track a retriever run; an outermost retrieval is a lookup, not an episode."""
        if self._root_for(run_id, parent_run_id) is None:
            with self._lock:  # tracked so its child runs are not taken for new roots
                self._root_of[run_id] = run_id
                self._children[run_id] = []

    @_guarded
    def on_retriever_end(
        self, documents: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """Forget the retriever run."""
        self._end_run(run_id)

    @_guarded
    def on_retriever_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Forget the retriever run."""
        self._end_run(run_id)


_capture_var: ContextVar[MemoryCallbackHandler | None] = ContextVar(
    "memory_core_langchain_capture", default=None
)
register_configure_hook(_capture_var, True)


@contextmanager
def capture(
    memory: AnyMemory,
    *,
    context: TaskContext | Mapping[str, Any] | None = None,
    task_type: TaskType | str = TaskType.OTHER,
    strict: bool = False,
    outcome_fn: OutcomeFn | None = None,
) -> Iterator[MemoryCallbackHandler]:
    """Record every LangChain run started inside the block, without touching ``config``.

    Uses langchain-core's configure hook (the mechanism LangSmith tracing uses): while the
    block is active, every run started in this context (and the tasks and threads it
    spawns) gets the handler. Yields the handler (for `errors`, `set_outcome`...).

    Example:
        >>> with capture(memory, context={"domain": "math"}) as handler:  # doctest: +SKIP
        ...     agent.invoke({"messages": [("user", "add 2 and 3")]})
    """
    handler = MemoryCallbackHandler(
        memory, context=context, task_type=task_type, strict=strict, outcome_fn=outcome_fn
    )
    token = _capture_var.set(handler)
    try:
        yield handler
    finally:
        _capture_var.reset(token)
