"""Bad input comes back as MCP tool errors carrying memory-core's message, nothing stored is
changed, the server keeps serving, and its log goes to standard error."""

from __future__ import annotations

from typing import IO

import pytest
from mcp.shared.exceptions import MCPError
from tests.support.mcp_server import data, error_text, run_lifecycle, stdio_session

from memory_core import ExecutionStep, MemoryConfig, SyncSelfLearningMemory, TaskOutcome

UNKNOWN = "00000000-0000-4000-8000-000000000000"


async def test_every_error_case_is_a_tool_error_and_the_server_keeps_serving(
    sqlite_url: str, namespace: str, env: dict[str, str], errlog: IO[str]
) -> None:
    async with stdio_session(sqlite_url, namespace, env, errlog) as client:
        done = (await run_lifecycle(client)).episode_id
        started = data(await client.call_tool("start_episode", {"task_description": "Open task"}))
        open_id = started["episode_id"]

        async def fails(tool: str, arguments: dict[str, object], *fragments: str) -> None:
            message = error_text(await client.call_tool(tool, arguments))
            assert message.startswith(f"Error executing tool {tool}: "), message
            for fragment in fragments:
                assert fragment in message, message

        # unknown and malformed ids
        await fails(
            "log_step",
            {"episode_id": UNKNOWN, "tool": "pytest", "action": "run"},
            f"EpisodeNotFoundError: episode {UNKNOWN} does not exist in namespace {namespace!r}",
        )
        await fails("get_episode", {"episode_id": UNKNOWN}, "EpisodeNotFoundError")
        await fails(
            "complete_episode",
            {"episode_id": UNKNOWN, "outcome": {"kind": "success", "verdict": "ok"}},
            "EpisodeNotFoundError",
        )
        await fails("get_pattern", {"pattern_id": UNKNOWN}, "PatternNotFoundError")
        await fails(
            "record_pattern_application",
            {"pattern_id": UNKNOWN, "helped": True},
            "PatternNotFoundError",
        )
        await fails(
            "get_episode",
            {"episode_id": "not-an-id"},
            "InvalidInputError: 'not-an-id' is not a valid episode id",
        )
        # invalid outcomes, results, contexts and task types
        await fails(
            "complete_episode",
            {"episode_id": open_id, "outcome": {"kind": "success"}},
            "InvalidInputError: invalid outcome",
            "a 'success' outcome needs verdict",
        )
        await fails(
            "complete_episode",
            {"episode_id": open_id, "outcome": {"kind": "won", "verdict": "yes"}},
            "InvalidInputError: invalid outcome",
        )
        await fails(
            "log_step",
            {"episode_id": open_id, "tool": "x", "action": "y", "result": {"kind": "maybe"}},
            "InvalidInputError: invalid step",
        )
        await fails(
            "start_episode",
            {"task_description": "A task", "context": {"tags": ["!"]}},
            "InvalidInputError: invalid context",
            "invalid tag '!'",
        )
        await fails(
            "start_episode",
            {"task_description": "A task", "task_type": "juggling"},
            "InvalidInputError: unknown task_type 'juggling'",
        )
        await fails("start_episode", {"task_description": "  "}, "InvalidInputError")
        await fails(
            "search_episodes", {"task_description": "x", "limit": 0}, "limit must be between"
        )
        # oversized payloads (the server runs with a 2000-byte parameter limit)
        await fails(
            "start_episode",
            {"task_description": "x" * 20_000},
            "PayloadTooLargeError: task_description is 20000 bytes, over the limit of 10000",
        )
        await fails(
            "log_step",
            {"episode_id": open_id, "tool": "x", "action": "y", "parameters": {"blob": "z" * 5000}},
            "PayloadTooLargeError: step parameters are",
            "over the limit of 2000",
        )
        # double completion
        await fails(
            "complete_episode",
            {"episode_id": done, "outcome": {"kind": "failure", "reason": "again"}},
            f"EpisodeAlreadyCompletedError: episode {done} is already completed",
        )
        await fails(
            "log_step",
            {"episode_id": done, "tool": "x", "action": "y"},
            "EpisodeAlreadyCompletedError",
        )
        await fails(
            "recommend_plan", {"task_description": ""}, "InvalidInputError", "task_description"
        )
        await fails(
            "recommend_plan",
            {"task_description": "Fix it", "episode_id": UNKNOWN},
            "EpisodeNotFoundError",
        )
        await fails(
            "recommend_plan",
            {"task_description": "Fix it", "episode_id": done},
            "EpisodeAlreadyCompletedError",
        )
        # arguments that do not match the input schema are refused by the SDK, by name
        await fails("log_step", {"episode_id": open_id}, "tool", "Field required")
        # unknown resources
        with pytest.raises(MCPError, match="EpisodeNotFoundError"):
            await client.read_resource(f"memory://episodes/{UNKNOWN}")
        with pytest.raises(MCPError, match="is not a valid pattern id"):
            await client.read_resource("memory://patterns/nope")

        # still serving, and the failed calls changed nothing
        logged = data(
            await client.call_tool(
                "log_step", {"episode_id": open_id, "tool": "grep", "action": "look around"}
            )
        )
        assert logged["step_number"] == 1
        finished = data(
            await client.call_tool(
                "complete_episode",
                {"episode_id": open_id, "outcome": {"kind": "failure", "reason": "gave up"}},
            )
        )
        assert [s["tool"] for s in finished["steps"]] == ["grep"]
        stored = data(await client.call_tool("get_episode", {"episode_id": done}))
        assert stored["outcome"]["verdict"] == "it passes"
        assert data(await client.call_tool("stats", {}))["episodes_completed"] == 2

    errlog.seek(0)
    log = errlog.read()
    assert "Tool 'complete_episode' failed" in log, log
    assert f"serving namespace {namespace!r} over stdio" in log, log


async def test_a_client_cannot_reach_another_namespace(
    sqlite_url: str, namespace: str, env: dict[str, str], errlog: IO[str]
) -> None:
    other = f"{namespace}-other"
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=other) as memory:
        hidden = memory.start_episode("Fix the failing login test", {"domain": "web-api"})
        memory.log_step(hidden, ExecutionStep(tool="pytest", action="run the test"))
        memory.complete_episode(hidden, TaskOutcome.success("it passes"))
        memory.wait_for_learning()
        hidden_pattern = memory.list_patterns()[0].pattern_id
        in_flight = memory.start_episode("Another task")
        memory.flush()

    async with stdio_session(sqlite_url, namespace, env, errlog) as client:
        for episode_id in (hidden, in_flight):
            message = error_text(
                await client.call_tool("get_episode", {"episode_id": str(episode_id)})
            )
            assert f"does not exist in namespace {namespace!r}" in message
            message = error_text(
                await client.call_tool(
                    "log_step", {"episode_id": str(episode_id), "tool": "x", "action": "y"}
                )
            )
            assert "EpisodeNotFoundError" in message
        assert "PatternNotFoundError" in error_text(
            await client.call_tool("get_pattern", {"pattern_id": str(hidden_pattern)})
        )
        with pytest.raises(MCPError, match="EpisodeNotFoundError"):
            await client.read_resource(f"memory://episodes/{hidden}")
        assert (
            data(
                await client.call_tool(
                    "search_episodes",
                    {"task_description": "Fix the failing login test", "include_below_floor": True},
                )
            )
            == []
        )
        assert data(await client.call_tool("search_patterns", {})) == []
        assert data(await client.call_tool("list_episodes", {})) == []
        # no tool takes a namespace, and one slipped in is ignored
        tools = (await client.list_tools()).tools
        assert all("namespace" not in tool.input_schema["properties"] for tool in tools)
        stats = data(await client.call_tool("stats", {"namespace": other}))
        assert (stats["namespace"], stats["episodes_total"]) == (namespace, 0)
        assert (
            data(
                await client.call_tool(
                    "search_episodes",
                    {"task_description": "Fix the failing login test", "namespace": other},
                )
            )
            == []
        )

    with SyncSelfLearningMemory(config, namespace=other) as memory:
        assert memory.get_episode(hidden).outcome is not None
        assert memory.get_episode(in_flight).outcome is None
