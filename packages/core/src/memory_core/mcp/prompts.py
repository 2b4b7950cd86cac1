"""The ``lessons`` prompt: what the memory has learned that bears on a task, as prompt text."""

from __future__ import annotations

from memory_core.errors import MemoryCoreError
from memory_core.formatting import NO_LESSONS, format_lessons
from memory_core.mcp._sdk import MCPServer
from memory_core.memory import SelfLearningMemory

__all__ = ["LESSONS_PROMPT", "register_prompts"]

LESSONS_PROMPT = "lessons"
"""The name of the prompt."""


def register_prompts(server: MCPServer, memory: SelfLearningMemory, *, limit: int = 3) -> None:
    """Add the ``lessons`` prompt to ``server``.

    Args:
        server: The MCP server.
        memory: The memory to search.
        limit: How many past episodes and how many patterns the prompt shows at most.
    """

    @server.prompt(
        name=LESSONS_PROMPT,
        title="Lessons for a task",
        description="The recommended plan, past episodes and learned patterns relevant to a "
        "task, as text to put before working on it. tags is a comma-separated list.",
    )
    async def lessons(
        task_description: str,
        domain: str | None = None,
        language: str | None = None,
        framework: str | None = None,
        tags: str | None = None,
    ) -> str:
        context: dict[str, object] = {"language": language, "framework": framework}
        if domain:
            context["domain"] = domain
        if tags:
            context["tags"] = [tag for tag in (t.strip() for t in tags.split(",")) if tag]
        try:
            plan = await memory.recommend_plan(task_description, context)
            episodes = await memory.search_episodes(task_description, context, limit)
            patterns = await memory.search_patterns(
                context, limit, task_description=task_description
            )
        except MemoryCoreError as exc:
            raise ValueError(f"{type(exc).__name__}: {exc}") from exc
        text = format_lessons(episodes, patterns, plan=plan) or NO_LESSONS
        return f"Task: {task_description}\n\n{text}"
