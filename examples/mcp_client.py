"""An MCP client using memory-core: what any MCP-capable agent sees.

    python examples/mcp_client.py [DATABASE_URL]

Starts ``memory-core mcp`` as a subprocess (stdio, like an MCP host does), on a throwaway
SQLite file unless a database URL is given, then records a task through the tools, searches
the memory, asks for a recommended plan, reads an episode resource and renders the
``lessons`` prompt. Needs the ``memory-core[mcp]`` extra (the official MCP Python SDK).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult

CONTEXT = {"domain": "web-api", "language": "python", "tags": ["auth"]}


def answer(result: CallToolResult) -> Any:
    """A tool's JSON answer (its text content), or the error it reported."""
    text = result.content[0].text  # type: ignore[union-attr]
    if result.is_error:
        raise RuntimeError(text)
    return json.loads(text)


async def main(database_url: str) -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "memory_core", "--database-url", database_url, "mcp", "--log-level", "ERROR"],
        env=dict(os.environ),  # the SDK passes only a safe subset of variables by default
    )
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
        print("tools:", ", ".join(tool.name for tool in tools))

        started = answer(
            await client.call_tool(
                "start_episode",
                {
                    "task_description": "Fix the failing login test",
                    "context": CONTEXT,
                    "task_type": "debugging",
                },
            )
        )
        episode_id = started["episode_id"]
        for step in (
            {
                "tool": "pytest",
                "action": "run the failing test",
                "result": {"kind": "error", "message": "AssertionError: expected 200, got 401"},
            },
            {
                "tool": "editor",
                "action": "fix the token expiry check",
                "result": {"kind": "success", "output": "patched auth.py"},
            },
            {
                "tool": "pytest",
                "action": "verify the test passes",
                "result": {"kind": "success", "output": "1 passed"},
            },
        ):
            logged = answer(await client.call_tool("log_step", {"episode_id": episode_id, **step}))
            print(f"step {logged['step_number']}: {logged['tool']} -> {logged['result']['kind']}")

        episode = answer(
            await client.call_tool(
                "complete_episode",
                {"episode_id": episode_id, "outcome": {"kind": "success", "verdict": "it passes"}},
            )
        )
        print(f"reward: {episode['reward']['total']:.3f}")
        for insight in episode["reflection"]["insights"]:
            print("insight:", insight)
        print("patterns learned:", len(episode["pattern_ids"]))

        found = answer(
            await client.call_tool(
                "search_episodes",
                {"task_description": "Fix the failing logout test", "context": CONTEXT},
            )
        )
        for result in found:
            task, score = result["episode"]["task_description"], result["score"]
            parts = ", ".join(f"{k} {v:+.3f}" for k, v in result["breakdown"].items())
            print(f"found {task!r}: score {score:.3f} = {parts}")

        plan = answer(
            await client.call_tool(
                "recommend_plan",
                {"task_description": "Fix the failing logout test", "context": CONTEXT},
            )
        )
        if plan is not None:
            print("recommended plan:", " -> ".join(plan["tools"]), f"(support {plan['support']})")

        again = await client.call_tool(
            "complete_episode",
            {"episode_id": episode_id, "outcome": {"kind": "success", "verdict": "twice"}},
        )
        print("completing twice:", again.content[0].text)  # type: ignore[union-attr]

        resource = await client.read_resource(f"memory://episodes/{episode_id}")
        print("resource:", json.loads(resource.contents[0].text)["task_description"])  # type: ignore[union-attr]

        prompt = await client.get_prompt(
            "lessons", {"task_description": "Fix the failing logout test", "domain": "web-api"}
        )
        print(prompt.messages[0].content.text)  # type: ignore[union-attr]


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(main(f"sqlite:///{Path(folder) / 'memory.db'}"))
