"""Conversions from LangChain objects to memory-core values (pure functions, no state).

Everything here is defensive: callbacks receive whatever the host application passed to
its runnables, so every function accepts ``Any`` and falls back to a safe value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage, convert_to_messages
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.prompt_values import PromptValue

from memory_core import (
    ComplexityLevel,
    ExecutionResult,
    TaskContext,
    TaskType,
    TokenUsage,
    clip_bytes,
)

__all__ = [
    "action_for",
    "context_for_run",
    "final_summary",
    "jsonable",
    "last_human_text",
    "task_from_input",
    "task_type_for_run",
    "text_of",
    "tool_result",
    "usage_from_llm_result",
    "usage_from_messages",
]

_INPUT_KEYS = ("input", "question", "query", "task", "prompt", "text")
_OUTPUT_KEYS = ("output", "answer", "result", "text")
_MAX_DEPTH = 6
_MAX_REPR = 200


def _clip_chars(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_of(value: Any) -> str:
    """Plain text of a message, message content (str or content blocks) or any value."""
    if isinstance(value, BaseMessage):
        return str(value.text)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str | Mapping) for v in value):
        parts = [
            v if isinstance(v, str) else str(v.get("text", ""))
            for v in value
            if isinstance(v, str) or v.get("type") == "text"
        ]
        return "".join(parts)
    return str(value)


def jsonable(value: Any, _depth: int = 0) -> Any:
    """A JSON-friendly copy of ``value`` (unknown objects become a short repr)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if _depth >= _MAX_DEPTH:
        return _clip_chars(repr(value), _MAX_REPR)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, _depth + 1) for v in value]
    if isinstance(value, BaseMessage):
        return text_of(value)
    return _clip_chars(repr(value), _MAX_REPR)


def _messages_of(value: Any) -> list[BaseMessage] | None:
    """Normalise a message list (tuples, dicts, messages) or None if it is not one."""
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, BaseMessage):
        return [value]
    if isinstance(value, list | tuple) and value:
        try:
            return convert_to_messages(list(value))
        except (ValueError, TypeError, NotImplementedError):
            return None
    return None


def last_human_text(messages: Any) -> str | None:
    """The text of the last human message in a message list (any accepted form)."""
    converted = _messages_of(messages)
    if not converted:
        return None
    for message in reversed(converted):
        if isinstance(message, HumanMessage):
            text = text_of(message).strip()
            if text:
                return text
    return None


def task_from_input(inputs: Any) -> str | None:
    """The task description of a run input: last human message or the input string."""
    if isinstance(inputs, str):
        return inputs.strip() or None
    if isinstance(inputs, Mapping):
        if "messages" in inputs:
            found = last_human_text(inputs["messages"])
            if found:
                return found
        for key in _INPUT_KEYS:
            value = inputs.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        strings = [v for v in inputs.values() if isinstance(v, str) and v.strip()]
        if len(strings) == 1:
            return str(strings[0]).strip()
        return None
    return last_human_text(inputs)


def final_summary(outputs: Any, limit: int = 300) -> str:
    """A one-line summary of a run's final output (last AI message, output string...)."""
    text: str | None = None
    if isinstance(outputs, str):
        text = outputs
    elif isinstance(outputs, BaseMessage):
        text = text_of(outputs)
    elif isinstance(outputs, Mapping):
        messages = outputs.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[-1], BaseMessage):
            text = text_of(messages[-1])
        else:
            for key in _OUTPUT_KEYS:
                value = outputs.get(key)
                if isinstance(value, str):
                    text = value
                    break
    elif isinstance(outputs, list) and outputs and isinstance(outputs[-1], BaseMessage):
        text = text_of(outputs[-1])
    text = _clip_chars(text or "", limit)
    return text or "run completed"


def action_for(tool: str, parameters: Mapping[str, Any], limit: int = 200) -> str:
    """A short human-readable action for a tool call: ``name(a=1, b='x')``."""
    args = ", ".join(f"{k}={v!r}" for k, v in parameters.items())
    return _clip_chars(f"{tool}({args})", limit)


def tool_result(output: Any, max_bytes: int) -> ExecutionResult:
    """The result of a finished tool call (a ``ToolMessage`` with ``status="error"`` fails)."""
    message = output
    update = getattr(output, "update", None)  # a LangGraph Command carrying a ToolMessage
    if not isinstance(output, BaseMessage) and isinstance(update, Mapping):
        messages = update.get("messages")
        if isinstance(messages, list):
            tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
            if tool_messages:
                message = tool_messages[-1]
    if isinstance(message, ToolMessage):
        text = clip_bytes(text_of(message.content), max_bytes)
        if message.status == "error":
            return ExecutionResult.error(text or "tool reported an error")
        return ExecutionResult.success(text)
    return ExecutionResult.success(clip_bytes(text_of(message), max_bytes))


def _usage_of(raw: Any) -> TokenUsage | None:
    """TokenUsage from an ``AIMessage.usage_metadata`` or a provider usage dict."""
    if not isinstance(raw, Mapping):
        return None
    inp = raw.get("input_tokens", raw.get("prompt_tokens", 0)) or 0
    out = raw.get("output_tokens", raw.get("completion_tokens", 0)) or 0
    total = raw.get("total_tokens", 0) or (inp + out)
    try:
        return TokenUsage(
            input_tokens=int(inp), output_tokens=int(out), total_tokens=int(total), llm_calls=1
        )
    except (TypeError, ValueError):
        return None


def usage_from_messages(messages: Sequence[Any]) -> TokenUsage | None:
    """Summed token usage of the AI messages in ``messages`` (None if none reports any)."""
    total: TokenUsage | None = None
    for message in messages:
        usage = _usage_of(getattr(message, "usage_metadata", None))
        if usage is not None:
            total = usage if total is None else total + usage
    return total


def usage_from_llm_result(response: LLMResult) -> TokenUsage:
    """Token usage of one model call: ``usage_metadata`` first, then ``llm_output``.

    Always counts one model call, even when the provider reports no token numbers.
    """
    messages = [
        gen.message
        for generations in response.generations
        for gen in generations
        if isinstance(gen, ChatGeneration)
    ]
    found = usage_from_messages(messages)
    if found is None and isinstance(response.llm_output, Mapping):
        found = _usage_of(
            response.llm_output.get("token_usage") or response.llm_output.get("usage")
        )
    if found is None:
        return TokenUsage(llm_calls=1)
    return found.model_copy(update={"llm_calls": 1})


def _tags(raw: Any) -> list[str]:
    tags: list[str] = []
    for tag in raw or ():
        if not isinstance(tag, str):
            continue
        try:
            TaskContext(tags=[tag])
        except ValueError:
            continue  # framework tags such as "graph:step:1" are not task tags
        tags.append(tag)
    return tags


def context_for_run(
    default: TaskContext, metadata: Mapping[str, Any] | None, tags: Sequence[str] | None
) -> TaskContext:
    """The default context updated from run ``metadata`` (domain, language, ...) and tags."""
    update: dict[str, Any] = {}
    meta = metadata or {}
    for key in ("domain", "language", "framework"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            update[key] = value
    complexity = meta.get("complexity")
    if isinstance(complexity, str) and complexity in set(ComplexityLevel):
        update["complexity"] = ComplexityLevel(complexity)
    extra_tags = _tags(tags) + _tags(meta.get("tags"))
    if extra_tags:
        update["tags"] = [*default.tags, *extra_tags]
    if not update:
        return default
    return TaskContext.model_validate({**default.model_dump(), **update})


def task_type_for_run(default: TaskType, metadata: Mapping[str, Any] | None) -> TaskType:
    """The run's ``metadata["task_type"]`` if it is a valid task type, else ``default``."""
    value = (metadata or {}).get("task_type")
    if isinstance(value, str) and value in set(TaskType):
        return TaskType(value)
    return default
