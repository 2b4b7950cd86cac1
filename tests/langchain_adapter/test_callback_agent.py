"""MemoryCallbackHandler on real ``create_agent`` agents (sync and async) with scripted models."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import ToolErrorMiddleware

from memory_core import (
    InvalidInputError,
    MemoryConfig,
    PluginError,
    SelfLearningMemory,
    SQLAlchemyEpisodeStore,
    StorageError,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
    hookimpl,
)
from memory_core_langchain import MemoryCallbackHandler, capture


def _three_step_model(kit):
    return kit.scripted(
        kit.ai(calls=[kit.call("add", {"a": 2, "b": 3}, "c1")], tokens=(11, 7)),
        kit.ai(calls=[kit.call("crunch", {"n": 20000}, "c2")], tokens=(20, 5)),
        kit.ai("done: 5", tokens=(30, 3)),
    )


def _messages(task: str) -> dict[str, Any]:
    return {"messages": [("user", task)]}


def test_agent_run_becomes_one_episode_with_ordered_steps(mem, kit):
    agent = create_agent(_three_step_model(kit), [kit.add, kit.crunch])
    handler = MemoryCallbackHandler(mem, context={"domain": "math"}, task_type="analysis")

    out = agent.invoke(_messages("add 2 and 3"), config={"callbacks": [handler]})

    assert out["messages"][-1].content == "done: 5"
    assert handler.errors == 0
    [episode] = mem.list_episodes(domain="math")
    assert episode.task_description == "add 2 and 3"
    assert episode.task_type is TaskType.ANALYSIS
    assert episode.outcome is not None
    assert episode.outcome.kind == "success"
    assert episode.outcome.verdict == "done: 5"
    assert episode.reward is not None
    assert [s.step_number for s in episode.steps] == [1, 2]
    first, second = episode.steps
    assert (first.tool, first.parameters, first.result.output) == ("add", {"a": 2, "b": 3}, "5")
    assert first.metadata["tool_call_id"] == "c1"
    assert first.action == "add(a=2, b=3)"
    assert second.tool == "crunch"
    assert second.parameters == {"n": 20000}
    assert second.result.output == str(sum(i * i for i in range(20000)))
    # the latency spans the tool's own work and lies inside the episode
    assert second.latency_ms / 1000 >= kit.work_seconds["crunch-20000"]
    assert first.latency_ms > 0
    assert episode.duration_seconds is not None
    assert first.latency_ms + second.latency_ms <= episode.duration_seconds * 1000
    assert first.timestamp <= second.timestamp
    assert episode.metadata["source"] == "langchain"
    assert handler.last_episode is not None
    assert handler.last_episode.episode_id == episode.episode_id


def test_token_usage_is_summed_over_model_calls(mem, kit):
    agent = create_agent(_three_step_model(kit), [kit.add, kit.crunch])
    handler = MemoryCallbackHandler(mem)
    agent.invoke(_messages("add 2 and 3"), config={"callbacks": [handler]})
    usage = handler.last_episode.token_usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (61, 15, 76)
    assert usage.llm_calls == 3
    assert mem.get_episode(handler.last_episode.episode_id).token_usage == usage


def test_raising_tool_aborts_run_and_records_failure_episode(mem, kit):
    model = kit.scripted(
        kit.ai(calls=[kit.call("add", {"a": 1, "b": 1}, "c1")]),
        kit.ai(calls=[kit.call("boom", {"x": "hi"}, "c2")]),
        kit.ai("never reached"),
    )
    agent = create_agent(model, [kit.add, kit.boom])
    handler = MemoryCallbackHandler(mem)

    with pytest.raises(ValueError, match=r"boom\(hi\) failed"):
        agent.invoke(_messages("add then explode"), config={"callbacks": [handler]})

    [episode] = mem.list_episodes()
    assert episode.outcome.kind == "failure"
    assert episode.outcome.reason == "ValueError: boom(hi) failed"
    assert [s.tool for s in episode.steps] == ["add", "boom"]
    assert episode.steps[0].is_success
    assert episode.steps[1].result.kind == "error"
    assert episode.steps[1].error_message == "ValueError: boom(hi) failed"
    assert handler.errors == 0


def test_tool_error_middleware_keeps_agent_going_and_records_error_step(mem, kit):
    model = kit.scripted(
        kit.ai(calls=[kit.call("boom", {"x": "hi"}, "c1")]),
        kit.ai(calls=[kit.call("add", {"a": 2, "b": 2}, "c2")]),
        kit.ai("recovered: 4"),
    )
    agent = create_agent(
        model,
        [kit.add, kit.boom],
        middleware=[ToolErrorMiddleware(on_error=lambda exc, request: f"tool failed: {exc}")],
    )
    handler = MemoryCallbackHandler(mem)

    out = agent.invoke(_messages("try the risky tool"), config={"callbacks": [handler]})

    # the agent's own error handling still works: the model saw the error message
    tool_messages = [m for m in out["messages"] if m.type == "tool"]
    assert tool_messages[0].status == "error"
    assert "boom(hi) failed" in tool_messages[0].content
    assert out["messages"][-1].content == "recovered: 4"
    episode = handler.last_episode
    assert episode.outcome.kind == "success"
    assert [(s.tool, s.result.kind) for s in episode.steps] == [
        ("boom", "error"),
        ("add", "success"),
    ]
    assert "boom(hi) failed" in episode.steps[0].error_message


def test_handled_tool_exception_arrives_as_error_tool_message(mem, kit):
    model = kit.scripted(
        kit.ai(calls=[kit.call("boom_handled", {"x": "hi"}, "c1")]),
        kit.ai("gave up politely"),
    )
    agent = create_agent(model, [kit.boom_handled])
    handler = MemoryCallbackHandler(mem)

    out = agent.invoke(_messages("try the handled tool"), config={"callbacks": [handler]})

    assert out["messages"][-1].content == "gave up politely"
    [step] = handler.last_episode.steps
    assert step.tool == "boom_handled"
    assert step.result.kind == "error"
    assert step.error_message == "boom_handled(hi) failed"


def test_parallel_tool_calls_are_steps_in_call_order(mem, kit):
    calls = [kit.call("add", {"a": i, "b": i}, f"p{i}") for i in range(1, 5)]
    model = kit.scripted(kit.ai(calls=calls), kit.ai("all added"))
    agent = create_agent(model, [kit.add])
    handler = MemoryCallbackHandler(mem)

    agent.invoke(_messages("add four pairs"), config={"callbacks": [handler]})

    steps = handler.last_episode.steps
    assert sorted(s.metadata["tool_call_id"] for s in steps) == ["p1", "p2", "p3", "p4"]
    assert {s.parameters["a"]: s.result.output for s in steps} == {1: "2", 2: "4", 3: "6", 4: "8"}
    assert [s.timestamp for s in steps] == sorted(s.timestamp for s in steps)
    assert [s.step_number for s in steps] == [1, 2, 3, 4]


async def test_async_run_with_async_memory(amem, kit):
    agent = create_agent(_three_step_model(kit), [kit.add, kit.crunch])
    handler = MemoryCallbackHandler(amem, context=TaskContext(domain="math"))

    out = await agent.ainvoke(_messages("add 2 and 3"), config={"callbacks": [handler]})

    # completed before ainvoke returned: visible immediately through the async facade
    assert out["messages"][-1].content == "done: 5"
    [episode] = await amem.list_episodes(domain="math")
    assert [s.tool for s in episode.steps] == ["add", "crunch"]
    assert episode.token_usage.total_tokens == 76
    assert episode.outcome.kind == "success"


async def test_twenty_concurrent_runs_are_twenty_separate_episodes(amem, kit):
    agent = create_agent(kit.ArithmeticChatModel(messages=iter([])), [kit.add])
    handler = MemoryCallbackHandler(amem)

    outs = await asyncio.gather(
        *(
            agent.ainvoke(_messages(f"add {i} and {100 + i}"), config={"callbacks": [handler]})
            for i in range(20)
        )
    )

    assert [o["messages"][-1].content for o in outs] == [
        f"the sum is {2 * i + 100}" for i in range(20)
    ]
    assert handler.errors == 0
    episodes = await amem.list_episodes(limit=None)
    assert len(episodes) == 20
    by_task = {e.task_description: e for e in episodes}
    for i in range(20):
        episode = by_task[f"add {i} and {100 + i}"]
        [step] = episode.steps
        assert step.parameters == {"a": i, "b": 100 + i}
        assert step.result.output == str(2 * i + 100)
        assert episode.outcome.verdict == f"the sum is {2 * i + 100}"
        assert episode.token_usage.llm_calls == 2
        assert episode.token_usage.total_tokens == 24


def test_context_and_task_type_come_from_run_metadata_and_tags(mem, kit):
    agent = create_agent(kit.scripted(kit.ai("nothing to do")), [kit.add])
    handler = MemoryCallbackHandler(mem, context={"language": "python", "tags": ["base"]})
    config = {
        "callbacks": [handler],
        "tags": ["billing", "not a valid tag!"],
        "metadata": {"domain": "payments", "complexity": "complex", "task_type": "debugging"},
    }
    agent.invoke(_messages("why is the invoice wrong"), config=config)

    episode = handler.last_episode
    assert episode.context.domain == "payments"
    assert episode.context.language == "python"
    assert episode.context.complexity.value == "complex"
    assert episode.context.tags == ["base", "billing"]
    assert episode.task_type is TaskType.DEBUGGING


def test_set_outcome_overrides_the_automatic_outcome(mem, kit):
    handler = MemoryCallbackHandler(mem)

    def judge(a: int, b: int) -> int:
        """Add, then declare the task a partial success."""
        handler.set_outcome(TaskOutcome.partial_success("half", ["add"], ["check"]))
        return a + b

    from langchain_core.tools import StructuredTool

    judged = StructuredTool.from_function(func=judge, name="add")
    model = kit.scripted(kit.ai(calls=[kit.call("add", {"a": 1, "b": 2}, "c1")]), kit.ai("3"))
    create_agent(model, [judged]).invoke(_messages("add 1 and 2"), config={"callbacks": [handler]})

    assert handler.last_episode.outcome.kind == "partial_success"
    with pytest.raises(InvalidInputError, match="0 runs are being recorded"):
        handler.set_outcome(TaskOutcome.success("too late"))


def test_outcome_fn_maps_final_output(mem, kit):
    def outcome_fn(output: dict[str, Any]) -> TaskOutcome | None:
        text = output["messages"][-1].content
        return TaskOutcome.failure("wrong answer") if "6" not in text else None

    handler = MemoryCallbackHandler(mem, outcome_fn=outcome_fn)
    agent = create_agent(kit.scripted(kit.ai("it is 7")), [kit.add])
    agent.invoke(_messages("what is 3 + 3"), config={"callbacks": [handler]})
    assert handler.last_episode.outcome == TaskOutcome.failure("wrong answer")

    agent = create_agent(kit.scripted(kit.ai("it is 6")), [kit.add])
    agent.invoke(_messages("what is 3 + 3"), config={"callbacks": [handler]})
    assert handler.last_episode.outcome.kind == "success"


def test_failing_outcome_fn_is_counted_and_falls_back_to_success(mem, kit):
    handler = MemoryCallbackHandler(mem, outcome_fn=lambda output: 1 / 0)
    agent = create_agent(kit.scripted(kit.ai("fine")), [kit.add])
    out = agent.invoke(_messages("do it"), config={"callbacks": [handler]})
    assert out["messages"][-1].content == "fine"
    assert handler.errors == 1
    assert handler.last_episode.outcome.kind == "success"


class _CompletionFailsStore:
    """The real store, except that writing a completed episode fails while ``down``."""

    def __init__(self, inner: SQLAlchemyEpisodeStore) -> None:
        self._inner = inner
        self.down = True

    def write(self, namespace: str, batch: Any) -> None:
        if batch.completed and self.down:
            raise StorageError("database is down")
        self._inner.write(namespace, batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _BadReward:
    """A reward plugin that raises: completing an episode fails inside the run."""

    @hookimpl(wrapper=True)
    def compute_reward(self, episode: Any, config: MemoryConfig) -> Any:
        yield
        raise ValueError("bad reward maths")


def _run_three_steps(kit, handler: MemoryCallbackHandler | None) -> list[tuple[str, str]]:
    agent = create_agent(_three_step_model(kit), [kit.add, kit.crunch])
    config = {"callbacks": [handler]} if handler else {}
    out = agent.invoke(_messages("add 2 and 3"), config=config)
    return [(m.type, str(m.content)) for m in out["messages"]]


def test_store_outage_does_not_change_what_the_agent_returns(sqlite_url, kit):
    baseline = _run_three_steps(kit, None)
    inner = SQLAlchemyEpisodeStore(sqlite_url)
    store = _CompletionFailsStore(inner)
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, store=store) as memory:  # type: ignore[arg-type]
        handler = MemoryCallbackHandler(memory)
        assert _run_three_steps(kit, handler) == baseline
        # the completion is queued like the steps: the run never waits on the database
        assert handler.errors == 0
        episode = handler.last_episode
        assert episode is not None
        assert episode.is_complete
        with pytest.raises(StorageError):
            memory.flush()
        store.down = False  # the database is back: the queued completion is written
    assert inner.get_episode("default", episode.episode_id).is_complete
    inner.close()


def test_recording_error_does_not_change_what_the_agent_returns(sqlite_url, kit):
    baseline = _run_three_steps(kit, None)
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, plugins=[_BadReward()]) as memory:
        handler = MemoryCallbackHandler(memory)
        assert _run_three_steps(kit, handler) == baseline
        assert handler.errors == 1
        assert isinstance(handler.last_error, PluginError)
        assert handler.last_episode is None


def test_strict_handler_raises_recording_errors(sqlite_url, kit):
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, plugins=[_BadReward()]) as memory:
        handler = MemoryCallbackHandler(memory, strict=True)
        agent = create_agent(kit.scripted(kit.ai("fine")), [kit.add])
        with pytest.raises(PluginError, match="bad reward maths"):
            agent.invoke(_messages("do it"), config={"callbacks": [handler]})
        assert handler.errors == 1


def test_capture_records_runs_without_config(mem, kit):
    agent = create_agent(_three_step_model(kit), [kit.add, kit.crunch])
    with capture(mem, context={"domain": "math"}) as handler:
        agent.invoke(_messages("add 2 and 3"))
    # outside the block nothing is recorded
    create_agent(kit.scripted(kit.ai("not recorded")), [kit.add]).invoke(_messages("ignored"))

    [episode] = mem.list_episodes(domain="math", limit=None)
    assert [s.tool for s in episode.steps] == ["add", "crunch"]
    assert handler.last_episode.episode_id == episode.episode_id
    assert len(mem.list_episodes(limit=None)) == 1


async def test_capture_works_for_async_runs(amem, kit):
    agent = create_agent(_three_step_model(kit), [kit.add, kit.crunch])
    with capture(amem) as handler:
        await agent.ainvoke(_messages("add 2 and 3"))
    assert [s.tool for s in handler.last_episode.steps] == ["add", "crunch"]


def test_handler_rejects_non_memory():
    with pytest.raises(InvalidInputError, match="SelfLearningMemory"):
        MemoryCallbackHandler(object())  # type: ignore[arg-type]


def test_handler_accepts_async_memory_for_sync_runs(mem_config, kit):
    memory = SelfLearningMemory(mem_config)
    try:
        handler = MemoryCallbackHandler(memory)
        create_agent(_three_step_model(kit), [kit.add, kit.crunch]).invoke(
            _messages("add 2 and 3"), config={"callbacks": [handler]}
        )
        assert memory.sync.get_episode(handler.last_episode.episode_id).is_complete
    finally:
        memory.sync.close()


def test_closed_memory_costs_one_counted_error_per_run(mem_config, kit):
    memory = SyncSelfLearningMemory(mem_config)
    memory.close()
    handler = MemoryCallbackHandler(memory)
    out = create_agent(_three_step_model(kit), [kit.add, kit.crunch]).invoke(
        _messages("add 2 and 3"), config={"callbacks": [handler]}
    )
    assert out["messages"][-1].content == "done: 5"
    assert handler.errors == 1  # the episode could not start; its child runs add nothing
    assert isinstance(handler.last_error, InvalidInputError)


async def test_set_outcome_by_run_id_among_concurrent_runs(amem, kit):
    import uuid

    from langchain_core.tools import tool

    gate, all_in = asyncio.Event(), asyncio.Event()
    arrived = []

    @tool
    async def add(a: int, b: int) -> int:
        """Add two integers, once every run has reached this point."""
        arrived.append(a)
        if len(arrived) == 3:
            all_in.set()
        await gate.wait()
        return a + b

    handler = MemoryCallbackHandler(amem)
    agent = create_agent(kit.ArithmeticChatModel(messages=iter([])), [add])
    ids = [uuid.uuid4() for _ in range(3)]
    runs = asyncio.gather(
        *(
            agent.ainvoke(
                _messages(f"add {i} and 1"), config={"callbacks": [handler], "run_id": ids[i]}
            )
            for i in range(3)
        )
    )
    await asyncio.wait_for(all_in.wait(), 60)  # three runs in flight (guard against a hang)
    with pytest.raises(InvalidInputError, match="3 runs are being recorded"):
        handler.set_outcome(TaskOutcome.success("ambiguous"))
    handler.set_outcome(TaskOutcome.failure("judged wrong"), run_id=ids[1])
    gate.set()
    await runs

    outcomes = {e.task_description: e.outcome.kind for e in await amem.list_episodes()}
    assert outcomes == {
        "add 0 and 1": "success",
        "add 1 and 1": "failure",
        "add 2 and 1": "success",
    }
