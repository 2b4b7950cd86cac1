"""Episodes and patterns as MCP resources: ``memory://episodes/{id}``, ``memory://patterns/{id}``.

Each resource is the model's JSON. An unknown or malformed id is a "resource not found"
error carrying the memory's message.
"""

from __future__ import annotations

from memory_core.mcp._convert import parse_id, resource_errors
from memory_core.mcp._sdk import MCPServer
from memory_core.memory import SelfLearningMemory

__all__ = ["EPISODE_URI", "PATTERN_URI", "register_resources"]

EPISODE_URI = "memory://episodes/{episode_id}"
"""The URI template of an episode."""

PATTERN_URI = "memory://patterns/{pattern_id}"
"""The URI template of a pattern."""


def register_resources(server: MCPServer, memory: SelfLearningMemory) -> None:
    """Add the episode and pattern resource templates to ``server``."""

    @server.resource(
        EPISODE_URI,
        name="episode",
        title="Episode",
        description="One recorded task run: context, steps, outcome, reward and reflection.",
        mime_type="application/json",
    )
    async def episode(episode_id: str) -> str:
        with resource_errors():
            found = await memory.get_episode(parse_id(episode_id, "episode"))
        return found.model_dump_json()

    @server.resource(
        PATTERN_URI,
        name="pattern",
        title="Pattern",
        description="One learned pattern: its kind, content, success rate and effectiveness.",
        mime_type="application/json",
    )
    async def pattern(pattern_id: str) -> str:
        with resource_errors():
            found = await memory.get_pattern(parse_id(pattern_id, "pattern"))
        return found.model_dump_json()
