"""Build the MCP server for one memory: its tools, resources and prompt (no transport)."""

from __future__ import annotations

from memory_core import __version__
from memory_core.mcp._sdk import MCPServer
from memory_core.mcp.prompts import register_prompts
from memory_core.mcp.resources import register_resources
from memory_core.mcp.tools import register_tools
from memory_core.memory import SelfLearningMemory

__all__ = ["INSTRUCTIONS", "SERVER_NAME", "build_server"]

SERVER_NAME = "memory-core"
"""The name the server gives itself to clients."""

INSTRUCTIONS = """memory-core is a self-learning episodic memory: it records your task runs,
scores and reflects on them, and learns reusable patterns, so that you do better next time.

1. Before a task: recommend_plan and search_episodes (and search_patterns) with the task
   description and context, and use what worked before; avoid what failed.
2. start_episode with the task; keep its episode_id.
3. log_step for every tool call, in order, with its result (errors too).
4. complete_episode with the outcome; the answer holds the reward, a reflection and the
   ids of the patterns learned.

Episodes and patterns are also resources (memory://episodes/{id}, memory://patterns/{id}),
and the prompt "lessons" renders what the memory knows about a task."""
"""What the server tells clients about using it."""


def build_server(memory: SelfLearningMemory, *, learning_wait_seconds: float = 5.0) -> MCPServer:
    """Create the MCP server serving ``memory``.

    Every tool, resource and prompt works in the memory's namespace; nothing a client sends
    can select another one.

    Args:
        memory: The memory to serve (the caller opens and closes it).
        learning_wait_seconds: How long ``complete_episode`` waits for background learning
            so that its answer lists the patterns learned.

    Returns:
        The server, ready to run on any MCP transport.
    """
    server: MCPServer = MCPServer(
        SERVER_NAME,
        title="memory-core",
        description="Self-learning episodic memory for AI agents",
        instructions=INSTRUCTIONS,
        version=__version__,
    )
    register_tools(server, memory, learning_wait_seconds=learning_wait_seconds)
    register_resources(server, memory)
    register_prompts(server, memory)
    return server
