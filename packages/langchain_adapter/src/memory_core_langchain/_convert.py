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
    "message_token_counts",
    "task_from_input",
    "task_type_for_run",
    "text_of",
    "token_counts",
    "tool_output",
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


_HUMAN_ROLES = ("user", "human")
_PLAIN_ROLES = frozenset({"user", "human", "ai", "assistant", "system"})


def _is_plain(item: Any) -> bool:
    """A message, or a ``(role, text)`` pair that converts to one without fail."""
    if isinstance(item, BaseMessage):
        return True
    return (
        isinstance(item, tuple)
        and len(item) == 2
        and item[0] in _PLAIN_ROLES
        and isinstance(item[1], str)
    )


def _human_text_as_given(messages: Any) -> str | None:
    """`last_human_text` of a list of messages and ``(role, text)`` pairs, converting nothing.

    Returns "" for any other value (the caller then converts it).
    """
    if not isinstance(messages, list | tuple) or not all(_is_plain(m) for m in messages):
        return ""
    for item in reversed(messages):
        if isinstance(item, HumanMessage):
            text = text_of(item).strip()
        elif isinstance(item, tuple) and item[0] in _HUMAN_ROLES:
            text = item[1].strip()
        else:
            continue
        if text:
            return text
    return None


def last_human_text(messages: Any) -> str | None:
    """The text of the last human message in a message list (any accepted form)."""
    quick = _human_text_as_given(messages)
    if quick != "":
        return quick
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


def tool_output(output: Any) -> tuple[str, bool]:
    """The text of a finished tool call's output, and whether the tool reported an error.

    A ``ToolMessage`` with ``status="error"`` (or a LangGraph ``Command`` carrying one) is
    an error; its text is then the error message ("tool reported an error" when blank).
    """
    message = output
    # a LangGraph Command carrying a ToolMessage (a message's getattr miss is slow: skip it)
    update = None if isinstance(output, BaseMessage) else getattr(output, "update", None)
    if isinstance(update, Mapping):
        messages = update.get("messages")
        if isinstance(messages, list):
            tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
            if tool_messages:
                message = tool_messages[-1]
    if isinstance(message, ToolMessage):
        text = text_of(message.content)
        if message.status == "error":
            return text or "tool reported an error", True
        return text, False
    return text_of(message), False


def tool_result(output: Any, max_bytes: int) -> ExecutionResult:
    """The result of a finished tool call (a ``ToolMessage`` with ``status="error"`` fails)."""
    text, failed = tool_output(output)
    text = clip_bytes(text, max_bytes)
    if failed:
        return ExecutionResult.error(text or "tool reported an error")
    return ExecutionResult.success(text)


def _counts_of(raw: Any) -> tuple[int, int, int] | None:
    """Input, output and total tokens of a ``usage_metadata`` or provider usage dict."""
    if not isinstance(raw, Mapping):
        return None
    try:
        inp = int(raw.get("input_tokens", raw.get("prompt_tokens", 0)) or 0)
        out = int(raw.get("output_tokens", raw.get("completion_tokens", 0)) or 0)
        total = int(raw.get("total_tokens", 0) or (inp + out))
    except (TypeError, ValueError):
        return None
    if inp < 0 or out < 0 or total < 0:
        return None
    return inp, out, total


def _usage_of(raw: Any) -> TokenUsage | None:
    """TokenUsage from an ``AIMessage.usage_metadata`` or a provider usage dict."""
    counts = _counts_of(raw)
    if counts is None:
        return None
    inp, out, total = counts
    return TokenUsage(input_tokens=inp, output_tokens=out, total_tokens=total, llm_calls=1)


def message_token_counts(messages: Sequence[Any]) -> tuple[int, int, int, int] | None:
    """Summed input, output and total tokens, and how many messages reported any.

    The counts of `usage_from_messages`, without building models (None if none reports).
    """
    found: tuple[int, int, int] | None = None
    calls = 0
    for message in messages:
        counts = _counts_of(getattr(message, "usage_metadata", None))
        if counts is not None:
            found = counts if found is None else _tuple_sum(found, counts)
            calls += 1
    return None if found is None else (*found, calls)


def usage_from_messages(messages: Sequence[Any]) -> TokenUsage | None:
    """Summed token usage of the AI messages in ``messages`` (None if none reports any)."""
    total: TokenUsage | None = None
    for message in messages:
        usage = _usage_of(getattr(message, "usage_metadata", None))
        if usage is not None:
            total = usage if total is None else total + usage
    return total


def token_counts(response: LLMResult) -> tuple[int, int, int]:
    """Input, output and total tokens of one model call (zeros when none are reported).

    ``usage_metadata`` of the generated messages first (summed), then ``llm_output``.
    """
    found: tuple[int, int, int] | None = None
    for generations in response.generations:
        for gen in generations:
            if isinstance(gen, ChatGeneration):
                counts = _counts_of(getattr(gen.message, "usage_metadata", None))
                if counts is not None:
                    found = counts if found is None else _tuple_sum(found, counts)
    if found is None and isinstance(response.llm_output, Mapping):
        found = _counts_of(
            response.llm_output.get("token_usage") or response.llm_output.get("usage")
        )
    return found or (0, 0, 0)


def _tuple_sum(a: tuple[int, int, int], b: tuple[int, int, int]) -> tuple[int, int, int]:
    """Token counts added up."""
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


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
