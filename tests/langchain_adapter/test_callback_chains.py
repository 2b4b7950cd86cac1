"""MemoryCallbackHandler on plain LCEL chains, lone tools and models, and nested runs."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

from memory_core_langchain import MemoryCallbackHandler


def _tool_chain(kit, model):
    tools = {t.name: t for t in (kit.add, kit.boom, kit.crunch)}

    def run_tools(message: AIMessage) -> list[ToolMessage]:
        return [tools[call["name"]].invoke(call) for call in message.tool_calls]

    def summarize(results: list[ToolMessage]) -> str:
        return "results: " + ", ".join(str(r.content) for r in results)

    prompt = ChatPromptTemplate.from_messages([("human", "{question}")])
    return prompt | model | RunnableLambda(run_tools) | RunnableLambda(summarize)


def test_lcel_chain_with_tools_is_recorded(mem, kit):
    model = kit.scripted(
        kit.ai(
            calls=[kit.call("add", {"a": 4, "b": 5}, "t1"), kit.call("crunch", {"n": 10}, "t2")],
            tokens=(9, 4),
        )
    )
    handler = MemoryCallbackHandler(mem, context={"domain": "chains"})

    result = _tool_chain(kit, model).invoke(
        {"question": "add 4 and 5, then crunch 10"}, config={"callbacks": [handler]}
    )

    assert result == "results: 9, 285"
    [episode] = mem.list_episodes(domain="chains")
    assert episode.task_description == "add 4 and 5, then crunch 10"
    assert [(s.tool, s.parameters, s.result.output) for s in episode.steps] == [
        ("add", {"a": 4, "b": 5}, "9"),
        ("crunch", {"n": 10}, "285"),
    ]
    assert episode.outcome.verdict == "results: 9, 285"
    assert episode.token_usage.total_tokens == 13
    assert episode.token_usage.llm_calls == 1


async def test_lcel_chain_async_with_failing_tool_is_failure(mem, kit):
    model = kit.scripted(
        kit.ai(calls=[kit.call("add", {"a": 1, "b": 1}, "t1"), kit.call("boom", {"x": "z"}, "t2")])
    )
    handler = MemoryCallbackHandler(mem)

    with pytest.raises(ValueError, match=r"boom\(z\) failed"):
        await _tool_chain(kit, model).ainvoke({"question": "q"}, config={"callbacks": [handler]})

    episode = handler.last_episode
    assert episode.outcome.kind == "failure"
    assert [(s.tool, s.result.kind) for s in episode.steps] == [
        ("add", "success"),
        ("boom", "error"),
    ]


def test_string_input_is_the_task(mem, kit):
    chain = RunnableLambda(lambda text: kit.add.invoke({"a": len(text), "b": 1}))
    handler = MemoryCallbackHandler(mem)
    assert chain.invoke("count me", config={"callbacks": [handler]}) == 9
    episode = handler.last_episode
    assert episode.task_description == "count me"
    assert [s.tool for s in episode.steps] == ["add"]


def test_lone_tool_and_lone_model_are_episodes_too(mem, kit):
    handler = MemoryCallbackHandler(mem)
    assert kit.add.invoke({"a": 1, "b": 2}, config={"callbacks": [handler]}) == 3
    tool_episode = handler.last_episode
    assert [s.tool for s in tool_episode.steps] == ["add"]
    assert tool_episode.outcome.kind == "success"

    model = kit.scripted(kit.ai("hello", tokens=(3, 1)))
    model.invoke("say hello", config={"callbacks": [handler]})
    model_episode = handler.last_episode
    assert model_episode.task_description == "say hello"
    assert model_episode.token_usage.total_tokens == 4
    assert model_episode.steps == []
    assert len(mem.list_episodes(limit=None)) == 2


def test_nested_agent_run_belongs_to_the_outer_episode(mem, kit):
    inner = create_agent(
        kit.scripted(kit.ai(calls=[kit.call("add", {"a": 7, "b": 8}, "i1")]), kit.ai("15")),
        [kit.add],
    )

    def delegate(question: str) -> Any:
        return inner.invoke({"messages": [("user", question)]})["messages"][-1].content

    outer = RunnableLambda(delegate) | RunnableLambda(lambda answer: f"answer {answer}")
    handler = MemoryCallbackHandler(mem)

    assert outer.invoke("add 7 and 8", config={"callbacks": [handler]}) == "answer 15"

    [episode] = mem.list_episodes(limit=None)
    assert episode.task_description == "add 7 and 8"
    assert [s.tool for s in episode.steps] == ["add"]
    assert episode.outcome.verdict == "answer 15"


def test_retriever_run_on_its_own_is_not_an_episode(mem, kit):
    from memory_core_langchain import MemoryRetriever

    handler = MemoryCallbackHandler(mem)
    MemoryRetriever(memory=mem).invoke("anything", config={"callbacks": [handler]})
    assert mem.list_episodes(limit=None) == []
    assert handler.errors == 0
