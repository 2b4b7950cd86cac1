"""MemoryMiddleware (prompt injection + recording) and the memory tool, on real agents."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import ToolErrorMiddleware
from langchain_core.messages import BaseMessage, SystemMessage
from pydantic import Field

from memory_core import (
    InvalidInputError,
    MemoryConfig,
    SQLAlchemyEpisodeStore,
    StorageError,
    SyncSelfLearningMemory,
)
from memory_core_langchain import MemoryMiddleware, create_memory_tool

MATH = {"domain": "math"}


def _recording_model(kit, *messages):
    class Recording(kit.ScriptedChatModel):
        seen: list[list[BaseMessage]] = Field(default_factory=list)

        def _generate(self, msgs, stop=None, run_manager=None, **kwargs):
            self.seen.append(list(msgs))
            return super()._generate(msgs, stop, run_manager, **kwargs)

    return Recording(messages=iter(messages))


def _add_run(kit, answer: str = "5"):
    return _recording_model(
        kit,
        kit.ai(calls=[kit.call("add", {"a": 2, "b": 3}, "c1")], tokens=(11, 7)),
        kit.ai(answer, tokens=(20, 5)),
    )


def _task(text: str) -> dict[str, Any]:
    return {"messages": [("user", text)]}


def test_middleware_records_runs_and_injects_past_experience(mem, kit):
    middleware = MemoryMiddleware(mem, context=MATH, k=2, patterns=2)

    first_model = _add_run(kit)
    agent = create_agent(first_model, [kit.add], system_prompt="You add.", middleware=[middleware])
    out = agent.invoke(_task("add 2 and 3"))
    assert out["messages"][-1].content == "5"
    # nothing learned yet: the prompt is untouched
    assert first_model.seen[0][0] == SystemMessage("You add.")

    [first] = mem.list_episodes(domain="math")
    assert first.task_description == "add 2 and 3"
    assert [(s.tool, s.parameters, s.result.output) for s in first.steps] == [
        ("add", {"a": 2, "b": 3}, "5")
    ]
    assert first.steps[0].metadata["tool_call_id"] == "c1"
    assert first.token_usage.total_tokens == 43
    assert first.outcome.kind == "success"

    mem.wait_for_learning()
    shown = mem.search_patterns(MATH, 2, task_description="add 2 and 3 once more")
    second_model = _add_run(kit, "5 again")
    agent = create_agent(second_model, [kit.add], system_prompt="You add.", middleware=[middleware])
    agent.invoke(_task("add 2 and 3 once more"))

    # both model calls of the new task saw the lessons in the system prompt
    for messages in second_model.seen:
        system = messages[0]
        assert isinstance(system, SystemMessage)
        assert system.text.startswith("You add.\n\nRelevant past experience from memory")
        assert "Past task (other): add 2 and 3" in system.text
        assert "Tools: add" in system.text
        assert "Recommended plan: add (worked in 1 similar run" in system.text
    assert middleware.errors == 0
    second = mem.list_episodes(domain="math")[0]
    assert second.task_description == "add 2 and 3 once more"
    # the plan shown is recorded on the episode (feedback if it fails)
    assert second.followed_plan == ["add"]
    # the patterns shown are tracked on the episode, so its reward updates their effectiveness
    assert shown
    assert set(second.retrieved_pattern_ids) == {r.pattern.pattern_id for r in shown}


async def test_middleware_async_run(amem, kit):
    middleware = MemoryMiddleware(amem, context=MATH)
    agent = create_agent(_add_run(kit), [kit.add], middleware=[middleware])
    await agent.ainvoke(_task("add 2 and 3"))
    await amem.wait_for_learning()

    model = _add_run(kit)
    agent = create_agent(model, [kit.add], middleware=[middleware])
    out = await agent.ainvoke(_task("add 2 and 3 again"))

    assert out["messages"][-1].content == "5"
    assert "Past task (other): add 2 and 3" in model.seen[0][0].text
    episodes = await amem.list_episodes(domain="math")
    assert [e.task_description for e in episodes] == ["add 2 and 3 again", "add 2 and 3"]
    assert all(e.outcome.kind == "success" and len(e.steps) == 1 for e in episodes)


def test_middleware_raising_tool_is_failure_episode(mem, kit):
    model = kit.scripted(kit.ai(calls=[kit.call("boom", {"x": "hi"}, "c1")]), kit.ai("unused"))
    agent = create_agent(model, [kit.boom], middleware=[MemoryMiddleware(mem)])

    with pytest.raises(ValueError, match=r"boom\(hi\) failed"):
        agent.invoke(_task("explode"))

    [episode] = mem.list_episodes()
    assert episode.outcome.kind == "failure"
    assert episode.outcome.reason == "ValueError: boom(hi) failed"
    assert [(s.tool, s.result.kind) for s in episode.steps] == [("boom", "error")]


def test_middleware_outside_tool_error_middleware_records_error_step(mem, kit):
    model = kit.scripted(
        kit.ai(calls=[kit.call("boom", {"x": "hi"}, "c1")]),
        kit.ai(calls=[kit.call("add", {"a": 1, "b": 1}, "c2")]),
        kit.ai("recovered"),
    )
    errors = ToolErrorMiddleware(on_error=lambda exc, request: f"failed: {exc}")
    agent = create_agent(model, [kit.add, kit.boom], middleware=[MemoryMiddleware(mem), errors])

    assert agent.invoke(_task("risky"))["messages"][-1].content == "recovered"

    [episode] = mem.list_episodes()
    assert episode.outcome.kind == "success"
    assert [(s.tool, s.result.kind) for s in episode.steps] == [
        ("boom", "error"),
        ("add", "success"),
    ]
    assert "boom(hi) failed" in episode.steps[0].error_message


class _ReadsFailStore:
    """The real store, except that listing episodes fails (a database outage)."""

    def __init__(self, inner: SQLAlchemyEpisodeStore) -> None:
        self._inner = inner

    def list_episodes(self, *args: Any, **kwargs: Any) -> Any:
        raise StorageError("database is down")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_middleware_store_failure_does_not_change_the_agent_result(sqlite_url, kit):
    baseline = create_agent(_add_run(kit), [kit.add]).invoke(_task("add 2 and 3"))
    store = SQLAlchemyEpisodeStore(sqlite_url)
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, store=_ReadsFailStore(store)) as memory:  # type: ignore[arg-type]
        middleware = MemoryMiddleware(memory)
        out = create_agent(_add_run(kit), [kit.add], middleware=[middleware]).invoke(
            _task("add 2 and 3")
        )
        assert [m.content for m in out["messages"]] == [m.content for m in baseline["messages"]]
        assert middleware.errors == 1
        assert isinstance(middleware.last_error, StorageError)
    store.close()


def test_middleware_without_recording_only_injects(mem, kit):
    agent = create_agent(_add_run(kit), [kit.add], middleware=[MemoryMiddleware(mem, record=False)])
    agent.invoke(_task("add 2 and 3"))
    assert mem.list_episodes(limit=None) == []


def test_middleware_with_checkpointer_records_each_turn(mem, kit):
    from langgraph.checkpoint.memory import InMemorySaver

    model = kit.scripted(
        kit.ai(calls=[kit.call("add", {"a": 2, "b": 3}, "c1")]),
        kit.ai("5"),
        kit.ai(calls=[kit.call("add", {"a": 5, "b": 5}, "c2")]),
        kit.ai("10"),
    )
    agent = create_agent(
        model, [kit.add], middleware=[MemoryMiddleware(mem)], checkpointer=InMemorySaver()
    )
    thread = {"configurable": {"thread_id": "t1"}}
    agent.invoke(_task("add 2 and 3"), config=thread)
    out = agent.invoke(_task("now double it"), config=thread)

    assert len(out["messages"]) == 8  # one conversation
    second, first = mem.list_episodes(limit=None)
    assert first.task_description == "add 2 and 3"
    assert second.task_description == "now double it"
    assert [s.parameters for s in first.steps] == [{"a": 2, "b": 3}]
    assert [s.parameters for s in second.steps] == [{"a": 5, "b": 5}]
    assert first.outcome.verdict == "5"
    assert second.outcome.verdict == "10"


def test_middleware_rejects_bad_arguments(mem):
    with pytest.raises(InvalidInputError, match="SelfLearningMemory"):
        MemoryMiddleware(object())  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=">= 0"):
        MemoryMiddleware(mem, k=-1)


def test_memory_tool_in_an_agent(mem, kit):
    # a first run to remember
    create_agent(_add_run(kit), [kit.add], middleware=[MemoryMiddleware(mem, context=MATH)]).invoke(
        _task("add 2 and 3")
    )
    memory_tool = create_memory_tool(mem, context=MATH)
    assert memory_tool.name == "search_memory"
    model = kit.scripted(
        kit.ai(calls=[kit.call("search_memory", {"task": "add 2 and 3 please"}, "m1")]),
        kit.ai("I remember"),
    )
    out = create_agent(model, [memory_tool, kit.add]).invoke(_task("add 4 and 4"))
    tool_message = next(m for m in out["messages"] if m.type == "tool")
    assert tool_message.status == "success"
    assert "Past task (other): add 2 and 3" in tool_message.content
    assert "Tools: add" in tool_message.content
    assert "Recommended plan: add" in tool_message.content


async def test_memory_tool_async_and_empty_memory(amem):
    memory_tool = create_memory_tool(amem, name="recall", k=2, patterns=0)
    assert await memory_tool.ainvoke({"task": "anything"}) == "No relevant past experience found."
    assert memory_tool.invoke({"task": "anything"}) == "No relevant past experience found."
    with pytest.raises(InvalidInputError):
        create_memory_tool(amem, k=0, patterns=0)
