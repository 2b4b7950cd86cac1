"""`create_memory_tool`: let an agent search its own memory."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from llama_index.core.tools import FunctionTool

from memory_core import (
    NO_LESSONS,
    InvalidInputError,
    SelfLearningMemory,
    SyncSelfLearningMemory,
    TaskContext,
    format_lessons,
)

__all__ = ["DEFAULT_DESCRIPTION", "create_memory_tool"]

DEFAULT_DESCRIPTION = (
    "Search the agent's memory of past tasks. Give a short description of the task at hand; "
    "returns the plan (tool sequence) that solved similar tasks if there is one, similar past "
    "tasks (what was done, what failed, what worked) and learned patterns. Use it before "
    "starting an unfamiliar task."
)


def create_memory_tool(
    memory: SelfLearningMemory | SyncSelfLearningMemory,
    *,
    name: str = "search_memory",
    description: str = DEFAULT_DESCRIPTION,
    k: int = 3,
    patterns: int = 3,
    context: TaskContext | Mapping[str, Any] | None = None,
) -> FunctionTool:
    """A `FunctionTool` an agent calls with a task description to recall past experience.

    Args:
        memory: Either facade (async agents get a native async implementation).
        name: The tool name the LLM sees.
        description: The tool description the LLM sees.
        k: How many past episodes to return at most.
        patterns: How many learned patterns to add (0 for none).
        context: Task context used to rank episodes and patterns.

    Raises:
        InvalidInputError: ``k`` is below 1 or ``patterns`` is negative.
    """
    if not isinstance(memory, SelfLearningMemory | SyncSelfLearningMemory):
        raise InvalidInputError(
            f"memory must be a SelfLearningMemory or SyncSelfLearningMemory, "
            f"not {type(memory).__name__}"
        )
    if k < 1 or patterns < 0:
        raise InvalidInputError(f"need k >= 1 and patterns >= 0, got k={k}, patterns={patterns}")
    blocking = memory.sync

    def search_memory(task: str) -> str:
        """Recall past tasks similar to ``task`` and the patterns learned from them."""
        plan = blocking.recommend_plan(task, context)
        episodes = blocking.search_episodes(task, context, k)
        found = (
            blocking.search_patterns(context, patterns, task_description=task) if patterns else []
        )
        return format_lessons(episodes, found, plan=plan) or NO_LESSONS

    async def asearch_memory(task: str) -> str:
        """Async twin of ``search_memory``."""
        if isinstance(memory, SelfLearningMemory):
            plan = await memory.recommend_plan(task, context)
            episodes = await memory.search_episodes(task, context, k)
            found = (
                await memory.search_patterns(context, patterns, task_description=task)
                if patterns
                else []
            )
            return format_lessons(episodes, found, plan=plan) or NO_LESSONS
        return await asyncio.to_thread(search_memory, task)

    return FunctionTool.from_defaults(
        fn=search_memory, async_fn=asearch_memory, name=name, description=description
    )
