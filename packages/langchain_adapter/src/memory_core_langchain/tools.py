"""`create_memory_tool`: a LangChain tool an agent calls to look up past experience."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from memory_core import NO_LESSONS, InvalidInputError, TaskContext, format_lessons
from memory_core_langchain._lookup import AnyMemory, Lookup

__all__ = ["MemoryToolInput", "create_memory_tool"]

_DESCRIPTION = (
    "Look up past experience with tasks like the current one: what was tried, which tools "
    "worked, which errors happened and how they were fixed. Input: a short description of "
    "the current task."
)


class MemoryToolInput(BaseModel):
    """Arguments of the memory tool."""

    task: str = Field(description="A short description of the current task.")


def create_memory_tool(
    memory: AnyMemory,
    *,
    name: str = "search_memory",
    description: str = _DESCRIPTION,
    k: int = 3,
    patterns: int = 3,
    context: TaskContext | Mapping[str, Any] | None = None,
) -> BaseTool:
    """Return a tool that searches ``memory`` for episodes and patterns about a task.

    The tool answers with compact text (the same rendering the retrievers and the
    middleware use), or "No relevant past experience found.". It has a native async path.

    Args:
        memory: A `SelfLearningMemory` or `SyncSelfLearningMemory`.
        name: The tool name the model sees.
        description: The tool description the model sees.
        k: Past episodes to include (0 for none).
        patterns: Learned patterns to include (0 for none).
        context: The task context to rank against.

    Raises:
        InvalidInputError: ``k`` and ``patterns`` are both 0, or one is negative.
    """
    if k < 0 or patterns < 0 or k + patterns == 0:
        raise InvalidInputError("create_memory_tool needs k >= 0, patterns >= 0, not both 0")
    ctx = (
        context
        if context is None or isinstance(context, TaskContext)
        else TaskContext.model_validate(dict(context))
    )

    def search_memory(task: str) -> str:
        found = Lookup(task, ctx, k, patterns, plan=True).run(memory)
        return format_lessons(found.episodes, found.patterns, plan=found.plan) or NO_LESSONS

    async def asearch_memory(task: str) -> str:
        found = await Lookup(task, ctx, k, patterns, plan=True).arun(memory)
        return format_lessons(found.episodes, found.patterns, plan=found.plan) or NO_LESSONS

    return StructuredTool.from_function(
        func=search_memory,
        coroutine=asearch_memory,
        name=name,
        description=description,
        args_schema=MemoryToolInput,
    )
