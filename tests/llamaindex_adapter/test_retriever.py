"""MemoryRetriever, the memory tool and the embeddings bridge, with real LlamaIndex parts."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode, NodeWithScore, TextNode

from memory_core import (
    Embedder,
    ExecutionResult,
    ExecutionStep,
    InvalidInputError,
    MemoryConfig,
    SelfLearningMemory,
    SyncSelfLearningMemory,
    TaskOutcome,
    episode_metadata,
    format_episode,
)
from memory_core_llamaindex import LlamaIndexEmbedder, MemoryRetriever, create_memory_tool

CTX = {"domain": "web-api", "language": "python"}


def remember(memory: SyncSelfLearningMemory) -> None:
    """Two completed episodes: a relevant one and an unrelated one."""
    eid = memory.start_episode("Fix the failing login test", CTX, "debugging")
    memory.log_step(
        eid,
        ExecutionStep(tool="pytest", action="run", result=ExecutionResult.error("401 != 200")),
    )
    memory.log_step(
        eid, ExecutionStep(tool="editor", action="fix", result=ExecutionResult.success("ok"))
    )
    memory.complete_episode(eid, TaskOutcome.success("login test passes"))
    other = memory.start_episode("Write the quarterly sales report", {"domain": "finance"})
    memory.complete_episode(other, TaskOutcome.success("report written"))


def test_retriever_returns_formatted_nodes(sqlite_memory) -> None:
    remember(sqlite_memory)
    retriever = MemoryRetriever(memory=sqlite_memory, k=1, context=CTX)

    [hit] = retriever.retrieve("Fix the failing logout test")

    assert isinstance(hit, NodeWithScore)
    assert isinstance(hit.node, TextNode)
    [expected] = sqlite_memory.search_episodes("Fix the failing logout test", CTX, 1)
    assert hit.node.text == format_episode(expected.episode)
    # Recency moves between the two searches, so scores match only approximately.
    volatile = {"score", "score_breakdown"}
    expected_meta = episode_metadata(expected)
    assert {k: v for k, v in hit.node.metadata.items() if k not in volatile} == {
        k: v for k, v in expected_meta.items() if k not in volatile
    }
    assert set(hit.node.metadata["score_breakdown"]) == set(expected_meta["score_breakdown"])
    assert hit.node.node_id == str(expected.episode.episode_id)
    assert hit.score == pytest.approx(expected.score, abs=1e-3)
    # The LLM sees exactly the shared summary, not a metadata dump.
    assert hit.node.get_content(MetadataMode.LLM) == hit.node.text


def test_retriever_in_a_query_engine_sync(sqlite_memory) -> None:
    remember(sqlite_memory)
    engine = RetrieverQueryEngine.from_args(
        MemoryRetriever(memory=sqlite_memory, k=2, context=CTX), llm=MockLLM()
    )

    response = engine.query("Fix the failing logout test")

    assert response.source_nodes
    top = response.source_nodes[0]
    assert top.node.metadata["type"] == "episode"
    assert "Fix the failing login test" in top.node.get_content()
    assert "Fix the failing login test" in str(response)  # MockLLM echoes its prompt


async def test_retriever_in_a_query_engine_async(sqlite_url, namespace) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    async with SelfLearningMemory(config, namespace=namespace) as memory:
        remember(memory.sync)
        engine = RetrieverQueryEngine.from_args(
            MemoryRetriever(memory=memory, k=2, context=CTX), llm=MockLLM()
        )

        response = await engine.aquery("Fix the failing logout test")

        assert "Fix the failing login test" in response.source_nodes[0].node.get_content()
        assert "Fix the failing login test" in str(response)


async def test_async_retrieval_with_the_blocking_facade(sqlite_memory) -> None:
    remember(sqlite_memory)
    retriever = MemoryRetriever(memory=sqlite_memory, k=5, domain="finance")

    nodes = await retriever.aretrieve("quarterly sales report")

    assert [n.node.metadata["domain"] for n in nodes] == ["finance"]


def test_retriever_rejects_bad_arguments(sqlite_memory) -> None:
    with pytest.raises(InvalidInputError, match="k must be at least 1"):
        MemoryRetriever(memory=sqlite_memory, k=0)
    with pytest.raises(InvalidInputError, match="SelfLearningMemory"):
        MemoryRetriever(memory="not a memory")  # type: ignore[arg-type]


def test_memory_tool_sync_and_async(sqlite_memory) -> None:
    remember(sqlite_memory)
    tool = create_memory_tool(sqlite_memory, k=1, context=CTX)

    assert tool.metadata.name == "search_memory"
    output = tool.call(task="Fix the failing logout test")
    assert not output.is_error
    assert "Fix the failing login test" in str(output.content)
    assert "pytest -> editor" in str(output.content)
    assert "Recommended plan: editor (worked in 1 similar run" in str(output.content)


async def test_memory_tool_used_by_an_agent(sqlite_url, namespace, script) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    async with SelfLearningMemory(config, namespace=namespace) as memory:
        remember(memory.sync)
        tool = create_memory_tool(memory, k=1, context=CTX)
        llm = script.llm(
            script.call("search_memory", "m1", task="Fix the failing logout test"),
            script.say("I will do what worked last time."),
        )
        agent = FunctionAgent(tools=[tool], llm=llm)

        seen: list[Any] = []
        handler = agent.run(user_msg="Fix the failing logout test")
        async for event in handler.stream_events():
            if type(event).__name__ == "ToolCallResult":
                seen.append(event)
        await handler

    [result] = seen
    assert not result.tool_output.is_error
    assert "Fix the failing login test" in str(result.tool_output.content)


def test_memory_tool_says_when_nothing_is_found(sqlite_memory) -> None:
    tool = create_memory_tool(sqlite_memory, patterns=0)
    assert str(tool.call(task="anything at all").content) == "No relevant past experience found."
    with pytest.raises(InvalidInputError, match="k >= 1"):
        create_memory_tool(sqlite_memory, k=0)


def test_embedder_bridge(sqlite_url, namespace) -> None:
    model = MockEmbedding(embed_dim=8)
    embedder = LlamaIndexEmbedder(model)

    assert isinstance(embedder, Embedder)
    assert embedder.name == "llamaindex:MockEmbedding:unknown"
    vectors = embedder.embed(["a", "b", "c"])
    assert len(vectors) == 3
    assert all(len(v) == 8 for v in vectors)
    assert embedder.embed([]) == []
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace, embedder=embedder) as memory:
        remember(memory)
        assert memory.search_episodes("Fix the failing logout test", CTX, 1)
    with pytest.raises(InvalidInputError, match="BaseEmbedding"):
        LlamaIndexEmbedder("not a model")  # type: ignore[arg-type]
