"""Between MCP and the memory: argument schemas, ids, results and errors (private).

Model-shaped arguments (``context``, ``result``, ``outcome``) are declared to MCP clients
with our models' JSON schemas but accepted as plain objects, so the memory itself validates
them and a mistake comes back with its own message. Results are our models' JSON: compact
text for the model to read, and the same data as structured content.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, TypeAdapter, WithJsonSchema
from pydantic_core import to_json

from memory_core._ids import parse_id as _parse_id
from memory_core.errors import (
    EpisodeNotFoundError,
    InvalidInputError,
    MemoryCoreError,
    PatternNotFoundError,
)
from memory_core.mcp._sdk import (
    CallToolResult,
    ResourceError,
    ResourceNotFoundError,
    TextContent,
    ToolError,
)
from memory_core.models import ExecutionResult, OutcomeKind, TaskContext, TaskOutcome, TaskType

__all__ = [
    "ContextArg",
    "EpisodeIdArg",
    "LimitArg",
    "OutcomeArg",
    "OutcomeKindArg",
    "PatternIdArg",
    "ResultArg",
    "TaskTypeArg",
    "as_utc",
    "inline_schema",
    "parse_id",
    "resource_errors",
    "tool_errors",
    "tool_result",
]


def inline_schema(shape: Any) -> dict[str, Any]:
    """The JSON schema of a type with every ``$ref`` replaced by its definition.

    A tool argument's schema sits inside the tool's input schema, where references to the
    argument's own ``$defs`` would not resolve.
    """
    schema = TypeAdapter(shape).json_schema()
    defs: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                target = resolve(defs[ref.removeprefix("#/$defs/")])
                return {**target, **{k: resolve(v) for k, v in node.items() if k != "$ref"}}
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _optional_object(shape: type[BaseModel]) -> dict[str, Any]:
    return {"anyOf": [inline_schema(shape), {"type": "null"}]}


_UUID = {"type": "string", "format": "uuid"}

ContextArg = Annotated[
    dict[str, Any] | None,
    WithJsonSchema(_optional_object(TaskContext)),
    Field(
        description="The task's circumstances, all optional: domain (e.g. 'web-api'), "
        "language, framework, complexity ('simple' | 'moderate' | 'complex'), tags "
        "(lowercase labels). Matching context makes past episodes rank higher."
    ),
]
"""An optional `TaskContext` as a JSON object."""

ResultArg = Annotated[
    dict[str, Any] | None,
    WithJsonSchema(_optional_object(ExecutionResult)),
    Field(
        description='What the step produced: {"kind": "success", "output": "..."}, '
        '{"kind": "error", "message": "..."} or {"kind": "timeout"}. Omit when unknown '
        "(the step then counts as not successful)."
    ),
]
"""An optional `ExecutionResult` as a JSON object."""

OutcomeArg = Annotated[
    dict[str, Any],
    WithJsonSchema(inline_schema(TaskOutcome)),
    Field(
        description='How the task ended: {"kind": "success", "verdict": "..."} (optional '
        '"artifacts": [...]), {"kind": "partial_success", "verdict": "...", "completed": '
        '[...], "failed": [...]}, {"kind": "failure", "reason": "...", "error_details": '
        '"..."} or {"kind": "abstained", "reason": "...", "stopped_at_step": 3} (the task '
        "was infeasible and you stopped on purpose)."
    ),
]
"""A `TaskOutcome` as a JSON object."""

EpisodeIdArg = Annotated[
    str,
    WithJsonSchema(_UUID),
    Field(description="The episode id returned by start_episode (or found by a search)."),
]
"""An episode id (validated by the memory, so a bad one gets its message)."""

PatternIdArg = Annotated[
    str,
    WithJsonSchema(_UUID),
    Field(description="A pattern id, from search_patterns or an episode's pattern_ids."),
]
"""A pattern id."""

TaskTypeArg = Annotated[
    str | None,
    WithJsonSchema({"anyOf": [{"enum": [t.value for t in TaskType]}, {"type": "null"}]}),
    Field(description="The kind of work."),
]
"""An optional `TaskType` value."""

OutcomeKindArg = Annotated[
    OutcomeKind | None,
    Field(description="Only episodes that ended this way."),
]
"""An optional outcome kind filter."""

LimitArg = Annotated[int, Field(description="How many results to return at most.")]
"""A result count."""


def parse_id(value: str, what: str) -> UUID:
    """Parse an episode or pattern id given to a tool.

    Raises:
        InvalidInputError: If ``value`` is not a UUID.
    """
    return _parse_id(value, what, source="as returned by the memory's tools")


def as_utc(value: datetime | None) -> datetime | None:
    """Treat a date-time without a time zone as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)


def tool_result(value: Any, shape: Any) -> CallToolResult:
    """A tool's answer: ``value`` (of type ``shape``) as compact JSON text and structured data.

    The structured content follows the MCP SDK's convention for the tool's output schema:
    a model is the object itself, anything else is wrapped as ``{"result": ...}``.
    """
    data = _adapter(shape).dump_python(value, mode="json")
    text = to_json(data).decode()
    is_model = isinstance(shape, type) and issubclass(shape, BaseModel)
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=data if is_model else {"result": data},
    )


def _describe(exc: MemoryCoreError) -> str:
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def tool_errors() -> Iterator[None]:
    """Turn memory-core errors into MCP tool errors carrying their message."""
    try:
        yield
    except MemoryCoreError as exc:
        raise ToolError(_describe(exc)) from exc


@contextmanager
def resource_errors() -> Iterator[None]:
    """Turn memory-core errors into MCP resource errors (not found for unknown ids)."""
    try:
        yield
    except (EpisodeNotFoundError, PatternNotFoundError, InvalidInputError) as exc:
        raise ResourceNotFoundError(_describe(exc)) from exc
    except MemoryCoreError as exc:
        raise ResourceError(_describe(exc)) from exc
