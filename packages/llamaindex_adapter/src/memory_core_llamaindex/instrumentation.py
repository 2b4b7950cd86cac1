"""Automatic capture of LlamaIndex agent runs as memory-core episodes.

`MemoryInstrumentation` hooks a span handler and an event handler into LlamaIndex's
instrumentation dispatcher (the current, recommended mechanism: tool calls are spans
there, and the legacy ``CallbackManager`` never sees them). It records:

* each run of a workflow agent (``FunctionAgent``, ``ReActAgent``, ``CodeActAgent``,
  ``AgentWorkflow``) as one episode, whose task is the run's user message;
* each tool call of the run (a ``<Agent>.call_tool`` span carrying a ``ToolCall``) as a
  step with the tool, its arguments, its output or error, and its latency;
* the token usage of every LLM call inside the run, where the LLM reports it;
* the outcome from how the run ended (success with the final answer, failure with the
  exception), unless ``outcome_fn`` or `MemoryInstrumentation.set_outcome` decides.

Query engines that route to tools (``RouterQueryEngine``, ``SubQuestionQueryEngine``) are
recorded the same way: the query is the task, each sub-engine query a tool step.

Spans carry their parent's id, so every span is mapped to the run it belongs to: runs in
flight at the same time (``asyncio.gather``) become separate episodes.

The handlers never break the host agent: an error while recording is logged and counted
(`MemoryInstrumentation.errors`). LlamaIndex's dispatcher swallows whatever a handler
raises, so ``strict=True`` re-raises the first recording error from `detach` (and from
the end of a ``with`` block) instead.

The event loop only keeps the run's state: logging the steps and completing the episode
happen on memory-core's recording thread (`memory_core.RunRecorder` with
``background=True``, except in strict mode). The memory waits for it before any read,
search, flush or close, so the code after ``await agent.run(...)`` finds the episode
completed.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self, cast
from uuid import UUID

from llama_index.core.agent.workflow import AgentWorkflow
from llama_index.core.agent.workflow.base_agent import BaseWorkflowAgent
from llama_index.core.agent.workflow.workflow_events import ToolCall, ToolCallResult
from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent, LLMCompletionEndEvent
from llama_index.core.instrumentation.span import BaseSpan, active_span_id
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from llama_index_instrumentation import get_dispatcher
from llama_index_instrumentation.dispatcher import Dispatcher
from pydantic import PrivateAttr

from memory_core import (
    InvalidInputError,
    OutcomeFn,
    RecorderStats,
    RunRecorder,
    RunSummary,
    SelfLearningMemory,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
)
from memory_core_llamaindex._convert import (
    json_safe,
    query_text,
    result_text,
    span_name,
    task_from_start_event,
    token_counts,
    tool_output_text,
)

__all__ = ["MemoryInstrumentation", "OutcomeFn", "RunSummary"]

logger = logging.getLogger(__name__)

_QUERY_METHODS = frozenset({"query", "aquery"})
_LLM_END = (LLMChatEndEvent, LLMCompletionEndEvent)


def _owner(handler: _SpanHandler | _EventHandler) -> MemoryInstrumentation | None:
    """The handler's owner, read from pydantic's private storage directly.

    ``handler._owner`` goes through ``BaseModel.__getattr__`` (about 4 µs); the dict
    lookup is some 30 times cheaper, and a span costs two of them.
    """
    private = handler.__pydantic_private__
    return None if private is None else cast("MemoryInstrumentation | None", private["_owner"])


class _SpanHandler(BaseSpanHandler[BaseSpan]):
    """Forwards span enter/exit/drop to the owning `MemoryInstrumentation`.

    It keeps no spans itself (every hook returns None), so it never grows.
    """

    _owner: MemoryInstrumentation | None = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        """Name shown by LlamaIndex."""
        return "MemoryCoreSpanHandler"

    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        """Map the span to its run; start an episode or a tool step when it is one."""
        owner = _owner(self)
        if owner is not None:
            owner._span_enter(id_, bound_args, instance, parent_span_id)
        return None

    def prepare_to_exit_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        result: Any | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        """Finish the tool step or run this span stands for."""
        owner = _owner(self)
        if owner is not None:
            owner._span_end(id_, instance, result, None)
        return None

    def prepare_to_drop_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        """Finish the tool step or run this span stands for, as failed."""
        owner = _owner(self)
        if owner is not None:
            owner._span_end(id_, instance, None, err)
        return None


class _EventHandler(BaseEventHandler):
    """Forwards LLM end events (token usage) to the owning `MemoryInstrumentation`."""

    _owner: MemoryInstrumentation | None = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        """Name shown by LlamaIndex."""
        return "MemoryCoreEventHandler"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        """Count the LLM call (and its tokens) for the run the event belongs to."""
        if isinstance(event, _LLM_END):  # every event comes here: a prebuilt tuple
            owner = _owner(self)
            if owner is not None:
                owner._llm_end(event)


class MemoryInstrumentation(RecorderStats):
    """Records LlamaIndex agent runs as episodes of a memory-core memory.

    Args:
        memory: Either facade (`SelfLearningMemory` or `SyncSelfLearningMemory`); the
            handlers write through its blocking view.
        context: Task context given to every recorded episode.
        task_type: Task type given to every recorded episode.
        outcome_fn: Optional function deciding a run's outcome from its `RunSummary`
            (return None to keep the default: success with the final answer, failure
            with the exception).
        strict: Re-raise the first recording error from `detach` (errors are always
            logged and counted in `errors`).
        dispatcher: The dispatcher to hook into; defaults to LlamaIndex's root dispatcher,
            which sees every span and event.

    Example:
        >>> with MemoryInstrumentation(memory, context={"domain": "math"}):
        ...     answer = await agent.run(user_msg="What is 2 + 3?")

    Runs still in flight when it is detached are not completed; their episode ids are in
    `open_episodes`. Completing an episode writes to the database in the thread (or event
    loop) that ends the run.
    """

    def __init__(
        self,
        memory: SelfLearningMemory | SyncSelfLearningMemory,
        *,
        context: TaskContext | Mapping[str, Any] | None = None,
        task_type: TaskType | str = TaskType.OTHER,
        outcome_fn: OutcomeFn | None = None,
        strict: bool = False,
        dispatcher: Dispatcher | None = None,
    ) -> None:
        self._recorder = RunRecorder(
            memory,
            context=context,
            task_type=task_type,
            outcome_fn=outcome_fn,
            strict=strict,
            background=True,
        )
        self._strict = strict
        self._dispatcher = dispatcher
        self._lock = threading.RLock()
        self._span_run: dict[str, str] = {}
        self._run_spans: dict[str, list[str]] = {}
        self._run_engines: dict[str, dict[int, str]] = {}
        self._span_handler = _SpanHandler()
        self._span_handler._owner = self
        self._event_handler = _EventHandler()
        self._event_handler._owner = self

    # ------------------------------------------------------------ attaching

    @property
    def dispatcher(self) -> Dispatcher:
        """The dispatcher the handlers are (or will be) attached to."""
        return self._dispatcher if self._dispatcher is not None else get_dispatcher()

    @property
    def is_attached(self) -> bool:
        """True while the handlers are registered on the dispatcher."""
        d = self.dispatcher
        return any(h is self._span_handler for h in d.span_handlers) or any(
            h is self._event_handler for h in d.event_handlers
        )

    def attach(self) -> Self:
        """Start recording: register the handlers (a second call does nothing)."""
        d = self.dispatcher
        if not any(h is self._span_handler for h in d.span_handlers):
            d.add_span_handler(self._span_handler)
        if not any(h is self._event_handler for h in d.event_handlers):
            d.add_event_handler(self._event_handler)
        return self

    def detach(self) -> None:
        """Stop recording: remove the handlers (safe to call when not attached).

        Raises:
            Exception: With ``strict=True``, the first error recording hit, if any.
        """
        d = self.dispatcher
        # The dispatcher has no remove API; edit its lists in place, by identity.
        d.span_handlers[:] = [h for h in d.span_handlers if h is not self._span_handler]
        d.event_handlers[:] = [h for h in d.event_handlers if h is not self._event_handler]
        error = self._recorder.take_first_error() if self._strict else None
        if error is not None:
            raise error

    def __enter__(self) -> Self:
        return self.attach()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.detach()

    # ------------------------------------------------------------- reporting
    # (errors, last_error, last_episode, completed_episodes: from RecorderStats)

    @property
    def open_episodes(self) -> list[UUID]:
        """Ids of the episodes of runs still in flight."""
        return self._recorder.open_episodes()

    def current_episode_id(self) -> UUID | None:
        """The episode of the run the caller is part of (e.g. from inside a tool)."""
        key = self._current_run_key()
        return None if key is None else self._recorder.episode_id(key)

    def episode_id_for(self, run_id: str) -> UUID | None:
        """The episode of the in-flight run whose workflow ``run_id`` is given.

        ``handler = agent.run(...)``; ``instrumentation.episode_id_for(handler.run_id)``.
        """
        key = self._recorder.find_run("run_id", run_id)
        return None if key is None else self._recorder.episode_id(key)

    def set_outcome(self, outcome: TaskOutcome, *, run_id: str | None = None) -> None:
        """Choose the outcome a run's episode will be completed with.

        Args:
            outcome: The outcome to record instead of the default.
            run_id: The workflow run id (``handler.run_id``); omit it when calling from
                inside the run (a tool, a step), where the current run is used.

        Raises:
            InvalidInputError: No recorded run matches (it finished, or never started).
        """
        key = self._recorder.find_run("run_id", run_id) if run_id else self._current_run_key()
        if key is None:
            where = f"with run_id {run_id!r}" if run_id else "in the current context"
            raise InvalidInputError(
                f"no recorded run is in flight {where}; call set_outcome while the run is "
                "still going (e.g. from a tool), with the handler's run_id from outside"
            )
        self._recorder.set_outcome(outcome, run_id=key)

    # ------------------------------------------------------------- internals

    def _current_run_key(self) -> str | None:
        span_id = active_span_id.get()
        if span_id is None:
            return None
        with self._lock:
            return self._span_run.get(span_id)

    def _failed(self, what: str, exc: Exception) -> None:
        """Log and count a recording error; re-raise it in strict mode."""
        self._recorder.failed(exc, f"LlamaIndex {what}")

    def _span_enter(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any,
        parent_id: str | None,
    ) -> None:
        try:
            engines: dict[int, str] | None = None
            with self._lock:
                run_key = None if parent_id is None else self._span_run.get(parent_id)
                if run_key is not None:
                    self._span_run[id_] = run_key
                    self._run_spans[run_key].append(id_)
                    engines = self._run_engines.get(run_key)
            if run_key is None:
                self._maybe_start_run(id_, bound_args, instance)
            else:
                self._maybe_start_call(run_key, id_, bound_args, instance, engines)
        except Exception as exc:
            self._failed("span start", exc)

    def _maybe_start_run(self, id_: str, bound_args: inspect.BoundArguments, instance: Any) -> None:
        method = span_name(id_).rpartition(".")[2]
        args = bound_args.arguments
        engines: dict[int, str] = {}
        if isinstance(instance, BaseWorkflowAgent | AgentWorkflow) and method == "run":
            task = task_from_start_event(args.get("start_event"))
            run_id = _workflow_run_id(args)
        elif isinstance(instance, BaseQueryEngine) and method in _QUERY_METHODS:
            engines = _tool_engines(instance)
            if not engines:
                return  # a plain query engine: no tools, nothing to learn from
            task = query_text(args.get("str_or_query_bundle"))
            run_id = None
        else:
            return
        kind = type(instance).__name__
        metadata = {"framework": "llamaindex", "runner": kind}
        if run_id:
            metadata["run_id"] = run_id
        episode_id = self._recorder.start_run(id_, task or f"{kind} run", metadata=metadata)
        with self._lock:  # tracked even without an episode: its spans stay inside the run
            self._span_run[id_] = id_
            self._run_spans[id_] = [id_]
            self._run_engines[id_] = engines
        logger.debug("memory-core: recording %s as episode %s", id_, episode_id)

    def _maybe_start_call(
        self,
        run_key: str,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any,
        engines: dict[int, str] | None,
    ) -> None:
        args = bound_args.arguments
        ev = args.get("ev")
        if isinstance(ev, ToolCall):
            self._recorder.start_call(
                run_key,
                id_,
                ev.tool_name,
                f"call {ev.tool_name}",
                json_safe(ev.tool_kwargs),
                {"tool_id": ev.tool_id} if ev.tool_id else None,
            )
            return
        tool = engines.get(id(instance)) if engines and instance is not None else None
        if tool is not None and span_name(id_).rpartition(".")[2] in _QUERY_METHODS:
            query = query_text(args.get("str_or_query_bundle"))
            self._recorder.start_call(run_key, id_, tool, f"query {tool}", {"input": query})

    def _span_end(self, id_: str, instance: Any, result: Any, err: BaseException | None) -> None:
        try:
            with self._lock:
                run_key = self._span_run.get(id_)
            if run_key is None:
                return
            if run_key == id_:
                self._finish_run(id_, result, err)
            elif self._recorder.has_call(id_):
                if err is not None:
                    self._recorder.end_call(id_, error=err)
                    return
                text, failed = self._call_outcome(result)
                if failed:
                    self._recorder.end_call(id_, error=text)
                else:
                    self._recorder.end_call(id_, text)
        except Exception as exc:
            self._failed("span end", exc)

    def _call_outcome(self, result: Any) -> tuple[str, bool]:
        """A finished call's text and whether it failed (the recorder builds the result)."""
        if isinstance(result, ToolCallResult):
            return tool_output_text(result.tool_output)
        if result is None:
            return "the call ended without a result", True
        return result_text(result) or "", False

    def _finish_run(self, key: str, result: Any, err: BaseException | None) -> None:
        try:
            cancelled = isinstance(err, asyncio.CancelledError) or (err is None and result is None)
            self._recorder.finish_run(
                key,
                output=None if err is not None else result,
                final_response=None if err is not None else result_text(result),
                error=None if cancelled else err,
                cancelled=cancelled,
            )
        finally:
            with self._lock:
                for span_id in self._run_spans.pop(key, []):
                    self._span_run.pop(span_id, None)
                self._run_engines.pop(key, None)

    def _llm_end(self, event: LLMChatEndEvent | LLMCompletionEndEvent) -> None:
        try:
            span_id = event.span_id
            if span_id is None:
                return
            with self._lock:
                run_key = self._span_run.get(span_id)
            if run_key is None:
                return
            self._recorder.add_tokens(run_key, *(token_counts(event.response) or (0, 0, 0)))
        except Exception as exc:
            self._failed("LLM event", exc)


def _workflow_run_id(arguments: Mapping[str, Any]) -> str | None:
    """The workflow run id LlamaIndex stamps into the run span's instrument tags."""
    tags = arguments.get("tags")
    if isinstance(tags, Mapping):
        inner = tags.get("instrument_tags", tags)
        if isinstance(inner, Mapping):
            run_id = inner.get("llamaindex.run_id")
            if isinstance(run_id, str):
                return run_id
    return None


def _tool_engines(engine: BaseQueryEngine) -> dict[int, str]:
    """Map each sub-engine of a tool-routing query engine to its tool name."""
    engines = getattr(engine, "_query_engines", None)
    if isinstance(engines, Mapping):  # SubQuestionQueryEngine: {tool name: engine}
        return {id(sub): str(name) for name, sub in engines.items()}
    metadatas = getattr(engine, "_metadatas", None)
    if isinstance(engines, list) and isinstance(metadatas, list):  # RouterQueryEngine
        return {
            id(sub): str(getattr(meta, "name", None) or type(sub).__name__)
            for sub, meta in zip(engines, metadatas, strict=False)
        }
    return {}
