"""Turn LlamaIndex objects (spans, events, messages, tool outputs) into memory-core values.

Private: every function here is defensive, because it reads objects from a framework whose
internals move between releases. Nothing here touches the memory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse
from llama_index.core.base.response.schema import (
    AsyncStreamingResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.schema import QueryBundle
from llama_index.core.tools.types import ToolOutput

from memory_core import ExecutionResult, TokenUsage, clip_bytes

__all__ = [
    "json_safe",
    "message_text",
    "query_text",
    "result_text",
    "span_name",
    "task_from_start_event",
    "token_counts",
    "tool_output_result",
    "tool_output_text",
    "usage_from_response",
]

_UUID_SUFFIX_LEN = 37  # "-" + a 36-character uuid4, appended by the dispatcher to every span id

_INPUT_KEYS = ("prompt_tokens", "input_tokens", "prompt_token_count")
_OUTPUT_KEYS = ("completion_tokens", "output_tokens", "candidates_token_count")
_TOTAL_KEYS = ("total_tokens", "total_token_count")


def span_name(span_id: str) -> str:
    """``"FunctionAgent.run-<uuid>"`` -> ``"FunctionAgent.run"`` (unchanged if no suffix)."""
    if len(span_id) > _UUID_SUFFIX_LEN and span_id[-_UUID_SUFFIX_LEN] == "-":
        return span_id[:-_UUID_SUFFIX_LEN]
    return span_id


def message_text(message: Any) -> str:
    """The text of a ChatMessage (or of a plain string); empty when there is none."""
    if message is None:
        return ""
    if isinstance(message, str):
        return message
    if isinstance(message, ChatMessage):
        return message.content or ""
    content = getattr(message, "content", None)
    return content if isinstance(content, str) else str(message)


def result_text(value: Any) -> str | None:
    """The answer text of a run or query result, without consuming streams.

    Handles a workflow ``StopEvent`` (whose ``result`` is an ``AgentOutput``), query
    ``Response`` objects and plain values. A streaming response is read only if it has
    already been consumed (reading it here would steal the caller's stream).
    """
    if value is None:
        return None
    payload = getattr(value, "result", value)  # StopEvent(result=AgentOutput(...))
    if isinstance(payload, StreamingResponse | AsyncStreamingResponse):
        return payload.response_txt
    if isinstance(payload, Response):
        return payload.response
    response = getattr(payload, "response", None)  # AgentOutput(response=ChatMessage)
    if isinstance(response, ChatMessage):
        return message_text(response)
    text = payload if isinstance(payload, str) else str(payload)
    return text or None


def query_text(value: Any) -> str:
    """The query string of a QueryBundle or a plain string."""
    if isinstance(value, QueryBundle):
        return value.query_str
    return value if isinstance(value, str) else ""


def task_from_start_event(start_event: Any) -> str:
    """The user message that started a workflow agent run.

    Reads ``user_msg`` and, when it is missing, the last user message of ``chat_history``.
    """
    if start_event is None:
        return ""
    getter = getattr(start_event, "get", None)
    if getter is None:
        return ""
    text = message_text(getter("user_msg", None)).strip()
    if text:
        return text
    history = getter("chat_history", None) or []
    for message in reversed(list(history)):
        role = getattr(getattr(message, "role", None), "value", getattr(message, "role", None))
        if role == "user":
            text = message_text(message).strip()
            if text:
                return text
    return ""


def json_safe(value: Any, depth: int = 0) -> Any:
    """A JSON-serialisable copy of tool arguments (unknown objects become their repr)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth > 20:
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v, depth + 1) for v in value]
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def tool_output_text(output: ToolOutput | None) -> tuple[str, bool]:
    """A tool output's text, and whether it is an error (``is_error`` set, or no output)."""
    if output is None:
        return "the tool returned no output", True
    if output.is_error:
        exc = output.exception
        message = f"{type(exc).__name__}: {exc}" if exc is not None else str(output.content)
        return message or "tool error", True
    return str(output.content), False


def tool_output_result(output: ToolOutput | None, max_bytes: int) -> ExecutionResult:
    """A step result from a tool's output: an error when ``is_error`` is set, else success."""
    text, failed = tool_output_text(output)
    if failed:
        return ExecutionResult.error(clip_bytes(text, max_bytes))
    return ExecutionResult.success(clip_bytes(text, max_bytes))


def _first_int(source: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = source.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _as_mapping(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            dumped = dump()
        except Exception:
            return None
        return dumped if isinstance(dumped, Mapping) else None
    if value is not None and hasattr(value, "__dict__"):
        attributes: dict[str, Any] = vars(value)
        return attributes
    return None


def token_counts(
    response: ChatResponse | CompletionResponse | None,
) -> tuple[int, int, int] | None:
    """Input, output and total tokens an LLM reported for one call (None if it did not).

    Looks where LlamaIndex integrations put them: ``response.additional_kwargs`` and the
    provider's raw response (``raw.usage`` / ``raw.usage_metadata`` or ``raw`` itself),
    accepting the same key names as LlamaIndex's token counter.
    """
    if response is None:
        return None
    candidates: list[Mapping[str, Any]] = []
    extra = getattr(response, "additional_kwargs", None)
    if isinstance(extra, Mapping):
        candidates.append(extra)
    raw = _as_mapping(getattr(response, "raw", None))
    if raw is not None:
        for key in ("usage", "usage_metadata"):
            nested = _as_mapping(raw.get(key))
            if nested is not None:
                candidates.append(nested)
        candidates.append(raw)
    for source in candidates:
        prompt = _first_int(source, _INPUT_KEYS)
        completion = _first_int(source, _OUTPUT_KEYS)
        if prompt is None and completion is None:
            continue
        total = _first_int(source, _TOTAL_KEYS)
        prompt, completion = prompt or 0, completion or 0
        return prompt, completion, total if total is not None else prompt + completion
    return None


def usage_from_response(response: ChatResponse | CompletionResponse | None) -> TokenUsage | None:
    """`token_counts` as a `TokenUsage` of one call, or None when the LLM reported none."""
    counts = token_counts(response)
    if counts is None:
        return None
    prompt, completion, total = counts
    return TokenUsage(
        input_tokens=prompt, output_tokens=completion, total_tokens=total, llm_calls=1
    )
