"""``memory-core mcp`` over stdio, driven by the MCP SDK's own client."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import IO

from mcp_types import TextResourceContents
from tests.support.mcp_server import data, run_lifecycle, stdio_session

from memory_core import MemoryConfig, SyncSelfLearningMemory
from memory_core.mcp import TOOL_NAMES


async def test_full_lifecycle_search_resources_and_prompt(
    database_url: str, namespace: str, env: dict[str, str], errlog: IO[str]
) -> None:
    async with stdio_session(database_url, namespace, env, errlog) as client:
        assert client.server_info is not None
        assert client.server_info.name == "memory-core"
        assert "start_episode" in (client.instructions or "")
        listed = (await client.list_tools()).tools
        assert [tool.name for tool in listed] == list(TOOL_NAMES)
        assert all(tool.description and tool.output_schema for tool in listed)

        recorded = await run_lifecycle(client)
        episode_id = recorded.episode_id

        # search: the paraphrase finds the episode, with a breakdown that adds up
        context = {"domain": "web-api", "language": "python"}
        found = data(
            await client.call_tool(
                "search_episodes",
                {"task_description": "Fix the failing logout test", "context": context},
            )
        )
        assert [r["episode"]["episode_id"] for r in found] == [episode_id]
        best = found[0]
        assert {"lexical", "context", "reward", "recency"} <= set(best["breakdown"])
        assert math.isclose(sum(best["breakdown"].values()), best["score"], abs_tol=1e-9)
        assert best["relevance"] > 0
        assert best["below_floor"] is False
        assert (
            data(
                await client.call_tool(
                    "search_episodes",
                    {"task_description": "Fix the failing logout test", "outcome_kind": "failure"},
                )
            )
            == []
        )

        # the recommended plan: the tools that solved it, from this episode
        plan = data(
            await client.call_tool(
                "recommend_plan",
                {"task_description": "Fix the failing logout test", "context": context},
            )
        )
        assert plan["tools"] == ["editor", "pytest"]
        assert [step["tool"] for step in plan["steps"]] == ["editor", "pytest"]
        assert plan["evidence"] == [episode_id]
        assert plan["support"] == 1
        assert 0 < plan["confidence"] <= 1
        unknown = {"task_description": "Bake a sourdough bread"}
        assert data(await client.call_tool("recommend_plan", unknown)) is None
        follower = data(
            await client.call_tool("start_episode", {"task_description": "Fix the logout test"})
        )["episode_id"]
        followed = data(
            await client.call_tool(
                "recommend_plan",
                {
                    "task_description": "Fix the failing logout test",
                    "context": context,
                    "episode_id": follower,
                },
            )
        )
        in_flight = data(await client.call_tool("get_episode", {"episode_id": follower}))
        assert in_flight["followed_plan"] == followed["tools"] == ["editor", "pytest"]

        patterns = data(
            await client.call_tool(
                "search_patterns",
                {"context": context, "task_description": "Fix the failing logout test"},
            )
        )
        assert {p["pattern"]["pattern_id"] for p in patterns} <= set(
            recorded.completed["pattern_ids"]
        )
        assert patterns, "the patterns learned from the episode are found"
        for result in patterns:
            assert math.isclose(sum(result["breakdown"].values()), result["score"], abs_tol=1e-9)
        assert isinstance(
            data(await client.call_tool("retrieve_heuristics", {"context": context})), list
        )

        # reads
        episode = data(await client.call_tool("get_episode", {"episode_id": episode_id}))
        assert episode == recorded.completed
        listed_episodes = data(await client.call_tool("list_episodes", {"completed": True}))
        assert [e["episode_id"] for e in listed_episodes] == [episode_id]
        pattern_id = recorded.completed["pattern_ids"][0]
        pattern = data(await client.call_tool("get_pattern", {"pattern_id": pattern_id}))
        assert pattern["pattern_id"] == pattern_id
        applied = data(
            await client.call_tool(
                "record_pattern_application",
                {"pattern_id": pattern_id, "helped": True, "reward_delta": 0.25},
            )
        )
        assert (
            applied["effectiveness"]["times_applied"]
            == pattern["effectiveness"]["times_applied"] + 1
        )
        stats = data(await client.call_tool("stats", {}))
        assert stats["namespace"] == namespace
        assert stats["episodes_completed"] == 1
        assert stats["patterns_total"] >= len(recorded.completed["pattern_ids"])

        # resources
        templates = (await client.list_resource_templates()).resource_templates
        assert {t.uri_template for t in templates} == {
            "memory://episodes/{episode_id}",
            "memory://patterns/{pattern_id}",
        }
        read = await client.read_resource(f"memory://episodes/{episode_id}")
        content = read.contents[0]
        assert isinstance(content, TextResourceContents)
        assert content.mime_type == "application/json"
        assert json.loads(content.text) == recorded.completed
        read = await client.read_resource(f"memory://patterns/{pattern_id}")
        assert isinstance(read.contents[0], TextResourceContents)
        assert json.loads(read.contents[0].text)["pattern_id"] == pattern_id

        # the prompt
        prompts = (await client.list_prompts()).prompts
        assert [p.name for p in prompts] == ["lessons"]
        prompt = await client.get_prompt(
            "lessons",
            {"task_description": "Fix the failing logout test", "domain": "web-api"},
        )
        text = prompt.messages[0].content.text  # type: ignore[union-attr]
        assert text.startswith("Task: Fix the failing logout test")
        assert "Relevant past experience from memory" in text
        assert "Recommended plan: " in text
        assert "Past task (debugging): Fix the failing login test" in text
        assert "Learned patterns:" in text
        arguments = {a.name: a.required for a in prompts[0].arguments or []}
        assert arguments == {
            "task_description": True,
            "domain": False,
            "language": False,
            "framework": False,
            "tags": False,
        }

    # what the client saw is what the database holds
    config = MemoryConfig(database_url=database_url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        stored = memory.get_episode(recorded_id := episode_id)
        assert stored.model_dump(mode="json") == recorded.completed
        assert memory.search_episodes("Fix the failing logout test")[0].episode.episode_id == (
            stored.episode_id
        )
        assert str(stored.episode_id) == recorded_id


PRINTING_PLUGIN = """
from memory_core import hookimpl


@hookimpl
def step_logged(episode_id, step, namespace):
    print(f"plugin saw step {step.step_number}")


@hookimpl
def episode_completed(episode, namespace):
    print("plugin saw the completion", end="")
"""


async def test_stray_output_goes_to_stderr_not_the_protocol_stream(
    sqlite_url: str, namespace: str, env: dict[str, str], errlog: IO[str], tmp_path: Path
) -> None:
    # a real plugin, installed the way pip would (a dist-info with an entry point)
    site = tmp_path / "site"
    (site / "printing_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "printing_plugin.py").write_text(PRINTING_PLUGIN)
    (site / "printing_plugin-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: printing-plugin\nVersion: 0.1\n"
    )
    (site / "printing_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[memory_core]\nprinting = printing_plugin\n"
    )
    env = {
        **env,
        "MEMORY_CORE_LOAD_PLUGINS": "true",
        "PYTHONPATH": os.pathsep.join([str(site), env.get("PYTHONPATH", "")]),
    }
    async with stdio_session(sqlite_url, namespace, env, errlog) as client:
        recorded = await run_lifecycle(client)
        assert data(await client.call_tool("get_episode", {"episode_id": recorded.episode_id}))
    errlog.seek(0)
    log = errlog.read()
    assert "plugin saw step 3" in log
    assert "plugin saw the completion" in log
    assert "Failed to parse" not in log
