"""`MemoryMiddleware`: close the learning loop of a ``create_agent`` agent with one argument.

``create_agent(model, tools, middleware=[MemoryMiddleware(memory)])``:

* **before the model is called for a new task** (``before_agent``), the middleware looks
  up the most relevant past episodes and learned patterns for the task (the last human
  message) and adds them to the system prompt of every model call of that run;
* **it records the run**: one episode per ``invoke``, a step per tool call (with latency
  and errors), token usage per model call, completed as a success when the agent finishes.

Put it **first** in the middleware list (the outermost): an exception leaving one of its
model or tool hooks then aborts the run, and the episode is completed as a failure with
that error. Needs the ``langchain`` package (``pip install memory-core-langchain[agents]``).
For graphs that are not ``create_agent`` agents, use `MemoryCallbackHandler` instead (and
do not use both on one agent, or every run is recorded twice: pass ``record=False``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, NotRequired
from uuid import UUID

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage

from memory_core import (
    InvalidInputError,
    MissingDependencyError,
    RecorderStats,
    RunRecorder,
    TaskContext,
    TaskType,
    format_lessons,
)
from memory_core_langchain._convert import (
    action_for,
    final_summary,
    jsonable,
    last_human_text,
    message_token_counts,
    tool_output,
)
from memory_core_langchain._lookup import AnyMemory, Found, Lookup
from memory_core_langchain.callbacks import OutcomeFn, on_final_output

try:
    from langchain.agents.middleware import (
        AgentMiddleware,
        AgentState,
        ModelRequest,
        ModelResponse,
    )
    from langchain.agents.middleware.types import (
        ExtendedModelResponse,
        PrivateStateAttr,
        ToolCallRequest,
    )
    from langgraph.channels.untracked_value import UntrackedValue
    from langgraph.runtime import Runtime
    from langgraph.types import Command
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError(
        "MemoryMiddleware needs the langchain package: pip install 'memory-core-langchain[agents]'"
    ) from exc

__all__ = ["MemoryMiddleware", "MemoryState"]

_INTERRUPTS = frozenset({"GraphBubbleUp", "GraphInterrupt", "NodeInterrupt", "ParentCommand"})


class MemoryState(AgentState[Any]):
    """Agent state with the id of the episode recording the current run (private)."""

    memory_episode_id: NotRequired[Annotated[str, UntrackedValue, PrivateStateAttr]]


def _is_interrupt(exc: BaseException) -> bool:
    """LangGraph control flow (interrupts, parent commands) is not a failure."""
    return any(cls.__name__ in _INTERRUPTS for cls in type(exc).__mro__)


def _response_messages(response: Any) -> list[BaseMessage]:
    if isinstance(response, ExtendedModelResponse):
        response = response.model_response
    if isinstance(response, ModelResponse):
        return list(response.result)
    if isinstance(response, AIMessage):
        return [response]
    return []


def _with_lessons(request: ModelRequest[Any], lessons: str) -> ModelRequest[Any]:
    current = request.system_message
    if current is None:
        return request.override(system_message=SystemMessage(content=lessons))
    text = str(current.text)
    return request.override(system_message=SystemMessage(content=f"{text}\n\n{lessons}"))


class MemoryMiddleware(RecorderStats, AgentMiddleware[MemoryState, Any, Any]):
    """Injects past experience into the system prompt and records each run as an episode.

    Args:
        memory: A `SelfLearningMemory` or `SyncSelfLearningMemory`.
        context: The task context of the agent's runs (ranking and recording).
        task_type: The task type recorded for each run.
        k: Past episodes injected into the system prompt (0: none).
        patterns: Learned patterns injected (0: none).
        inject: Add past experience to the system prompt.
        record: Record each run as an episode.
        strict: Raise recording errors instead of logging and counting them (`errors`).
        outcome_fn: Maps the final agent state to a `TaskOutcome` (None: success).

    Example:
        >>> agent = create_agent(model, tools, middleware=[MemoryMiddleware(memory)])
        ... # doctest: +SKIP
    """

    state_schema = MemoryState

    def __init__(
        self,
        memory: AnyMemory,
        *,
        context: TaskContext | Mapping[str, Any] | None = None,
        task_type: TaskType | str = TaskType.OTHER,
        k: int = 3,
        patterns: int = 3,
        inject: bool = True,
        record: bool = True,
        strict: bool = False,
        outcome_fn: OutcomeFn | None = None,
    ) -> None:
        super().__init__()
        self._recorder = RunRecorder(
            memory,
            context=context,
            task_type=task_type,
            outcome_fn=on_final_output(outcome_fn),
            strict=strict,
            background=True,
        )
        if k < 0 or patterns < 0:
            raise InvalidInputError("k and patterns must be >= 0")
        self.memory = memory
        self.context = self._recorder.context
        self.task_type = self._recorder.task_type
        self.k = k
        self.patterns = patterns
        self.inject = inject and (k + patterns) > 0
        self.record = record
        self.outcome_fn = outcome_fn
        self._lock = threading.Lock()
        self._lessons: dict[UUID, str] = {}

    # --------------------------------------------------------------- helpers

    @staticmethod
    def _key(state: Any) -> UUID | None:
        raw = state.get("memory_episode_id") if isinstance(state, Mapping) else None
        try:
            return UUID(raw) if isinstance(raw, str) else None
        except ValueError:
            return None

    def _begin(self, state: Any) -> tuple[UUID, str, Lookup | None]:
        """Open the run's episode; return its key, the task and the lookup to run."""
        messages = state.get("messages", []) if isinstance(state, Mapping) else []
        task = last_human_text(messages) or "Agent run"
        key = uuid.uuid4()
        episode_id: UUID | None = None
        if self.record:
            meta = {"source": "langchain", "recorder": "middleware"}
            episode_id = self._recorder.start_run(key, task, metadata=meta)
        lookup = (
            Lookup(task, self.context, self.k, self.patterns, episode_id=episode_id, plan=True)
            if self.inject
            else None
        )
        return key, task, lookup

    def _remember(self, key: UUID, found: Found) -> None:
        lessons = format_lessons(found.episodes, found.patterns, plan=found.plan)
        if lessons:
            with self._lock:
                self._lessons[key] = lessons

    def _finish(self, key: UUID | None, state: Any, error: BaseException | None) -> None:
        """Complete the run's episode: it ended with ``state``, or raised ``error``."""
        if key is None:
            return
        with self._lock:
            self._lessons.pop(key, None)
        if error is not None:
            self._recorder.finish_run(key, error=error)
        else:
            self._recorder.finish_run(key, output=state, final_response=final_summary(state))

    def _failure(self, key: UUID | None, exc: BaseException) -> None:
        if not _is_interrupt(exc):
            self._finish(key, None, exc)

    def _prepare_model(self, request: ModelRequest[Any]) -> tuple[UUID | None, ModelRequest[Any]]:
        key = self._key(request.state)
        lessons = self._lessons.get(key) if key is not None else None
        return key, (_with_lessons(request, lessons) if lessons else request)

    def _model_done(self, key: UUID | None, response: Any) -> None:
        if key is None:
            return
        try:
            counts = message_token_counts(_response_messages(response))
            if counts is not None:
                self._recorder.add_tokens(key, *counts)
        except Exception as exc:
            self._recorder.failed(exc, "wrap_model_call")

    def _tool_started(self, request: ToolCallRequest) -> tuple[UUID | None, UUID]:
        key = self._key(request.state)
        call_key = uuid.uuid4()
        if key is None:
            return None, call_key
        try:
            call = request.tool_call
            tool = str(call.get("name") or "tool")
            parameters = jsonable(dict(call.get("args") or {}))
            meta = {"tool_call_id": str(call.get("id") or "")}
            action = action_for(tool, parameters)
            self._recorder.start_call(key, call_key, tool, action, parameters, meta)
        except Exception as exc:
            self._recorder.failed(exc, "wrap_tool_call")
        return key, call_key

    def _tool_done(self, call_key: UUID, output: Any, error: BaseException | None) -> None:
        if error is not None:
            self._recorder.end_call(call_key, error=error)
            return
        try:
            text, failed = tool_output(output)
        except Exception as exc:
            self._recorder.failed(exc, "wrap_tool_call")
        else:
            if failed:
                self._recorder.end_call(call_key, error=text)
            else:
                self._recorder.end_call(call_key, text)

    # ----------------------------------------------------------------- hooks

    def before_agent(self, state: MemoryState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        """Start the episode and look up past experience for the new task."""
        key, _, lookup = self._begin(state)
        if lookup is not None:
            try:
                self._remember(key, lookup.run(self.memory))
            except Exception as exc:
                self._recorder.failed(exc, "before_agent")
        return {"memory_episode_id": str(key)}

    async def abefore_agent(
        self, state: MemoryState, runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """Async `before_agent` (native async lookup with a `SelfLearningMemory`)."""
        key, _, lookup = self._begin(state)
        if lookup is not None:
            try:
                self._remember(key, await lookup.arun(self.memory))
            except Exception as exc:
                self._recorder.failed(exc, "abefore_agent")
        return {"memory_episode_id": str(key)}

    def after_agent(self, state: MemoryState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        """Complete the episode as a success (or with ``outcome_fn``'s outcome)."""
        self._finish(self._key(state), state, None)
        return None

    async def aafter_agent(
        self, state: MemoryState, runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """Async `after_agent`."""
        self._finish(self._key(state), state, None)
        return None

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any] | AIMessage | ExtendedModelResponse[Any]:
        """Add past experience to the system prompt; count the call's token usage."""
        key, request = self._prepare_model(request)
        try:
            response = handler(request)
        except BaseException as exc:
            self._failure(key, exc)
            raise
        self._model_done(key, response)
        return response

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any] | AIMessage | ExtendedModelResponse[Any]:
        """Async `wrap_model_call`."""
        key, request = self._prepare_model(request)
        try:
            response = await handler(request)
        except BaseException as exc:
            self._failure(key, exc)
            raise
        self._model_done(key, response)
        return response

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        """Record the tool call as a step (output or error, latency)."""
        key, call_key = self._tool_started(request)
        try:
            result = handler(request)
        except BaseException as exc:
            self._tool_done(call_key, None, exc)
            self._failure(key, exc)
            raise
        self._tool_done(call_key, result, None)
        return result

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        """Async `wrap_tool_call`."""
        key, call_key = self._tool_started(request)
        try:
            result = await handler(request)
        except BaseException as exc:
            self._tool_done(call_key, None, exc)
            self._failure(key, exc)
            raise
        self._tool_done(call_key, result, None)
        return result
