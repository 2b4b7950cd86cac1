"""Capture of real LlamaIndex agent runs (scripted LLM, real FunctionTools) as episodes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent, ReActAgent
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.tools import FunctionTool

from memory_core import (
    InvalidInputError,
    SelfLearningMemory,
    SyncSelfLearningMemory,
    TaskOutcome,
    TaskType,
)
from memory_core_llamaindex import MemoryInstrumentation, RunSummary


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def boom(x: str) -> str:
    """A tool that always fails."""
    raise ValueError(f"boom({x}) failed")


def tools() -> list[FunctionTool]:
    return [FunctionTool.from_defaults(fn=add), FunctionTool.from_defaults(fn=boom)]


def add_then_boom(script: Any) -> list[Any]:
    return [
        script.call("add", "c1", a=2, b=3),
        script.call("boom", "c2", x="hi"),
        script.say("done: 5"),
    ]


async def test_function_agent_run_becomes_an_episode(memory, instrument, script) -> None:
    inst = instrument(memory, context={"domain": "math"}, task_type=TaskType.ANALYSIS)
    agent = FunctionAgent(tools=tools(), llm=script.llm(*add_then_boom(script)))

    result = await agent.run(user_msg="What is 2 + 3?")

    assert str(result) == "done: 5"
    assert inst.errors == 0
    [episode_id] = inst.completed_episodes
    episode = memory.get_episode(episode_id)
    assert episode.task_description == "What is 2 + 3?"
    assert episode.context.domain == "math"
    assert episode.task_type is TaskType.ANALYSIS
    assert [s.tool for s in episode.steps] == ["add", "boom"]
    assert [s.step_number for s in episode.steps] == [1, 2]
    add_step, boom_step = episode.steps
    assert add_step.parameters == {"a": 2, "b": 3}
    assert add_step.is_success
    assert add_step.result is not None
    assert add_step.result.output == "5"
    assert add_step.metadata == {"tool_id": "c1"}
    assert not boom_step.is_success
    assert boom_step.parameters == {"x": "hi"}
    assert boom_step.error_message == "ValueError: boom(hi) failed"
    assert all(s.latency_ms > 0 for s in episode.steps)
    assert add_step.timestamp <= boom_step.timestamp
    assert episode.outcome == TaskOutcome.success("done: 5")
    assert episode.token_usage is not None
    assert episode.token_usage.llm_calls == 3
    assert episode.token_usage.input_tokens == 60
    assert episode.token_usage.output_tokens == 12
    assert episode.token_usage.total_tokens == 72
    assert episode.metadata["framework"] == "llamaindex"
    assert episode.metadata["runner"] == "FunctionAgent"
    assert episode.metadata["run_id"]


async def test_non_streaming_function_agent(sqlite_memory, instrument, script) -> None:
    inst = instrument(sqlite_memory)
    agent = FunctionAgent(tools=tools(), llm=script.llm(*add_then_boom(script)), streaming=False)

    await agent.run(user_msg="add without streaming")

    episode = sqlite_memory.get_episode(inst.completed_episodes[0])
    assert [(s.tool, s.is_success) for s in episode.steps] == [("add", True), ("boom", False)]
    assert episode.token_usage is not None
    assert episode.token_usage.llm_calls == 3


async def test_react_agent_run_becomes_an_episode(sqlite_memory, instrument, script) -> None:
    inst = instrument(sqlite_memory)
    llm = script.llm(
        script.say('Thought: I need to add.\nAction: add\nAction Input: {"a": 2, "b": 3}'),
        script.say('Thought: Try the other tool.\nAction: boom\nAction Input: {"x": "hi"}'),
        script.say("Thought: I can answer without more tools.\nAnswer: done: 5"),
    )
    agent = ReActAgent(tools=tools(), llm=llm)

    result = await agent.run(user_msg="Use ReAct to add 2 and 3")

    assert "done: 5" in str(result)
    episode = sqlite_memory.get_episode(inst.completed_episodes[0])
    assert episode.task_description == "Use ReAct to add 2 and 3"
    assert [s.tool for s in episode.steps] == ["add", "boom"]
    assert episode.steps[0].parameters == {"a": 2, "b": 3}
    assert episode.steps[0].result is not None
    assert episode.steps[0].result.output == "5"
    assert episode.steps[1].error_message == "ValueError: boom(hi) failed"
    assert episode.outcome is not None
    assert episode.outcome.kind == "success"
    assert episode.metadata["runner"] == "ReActAgent"


async def test_agent_workflow_run_becomes_an_episode(sqlite_memory, instrument, script) -> None:
    inst = instrument(sqlite_memory)
    agent = FunctionAgent(
        name="calculator",
        description="adds numbers",
        tools=tools(),
        llm=script.llm(*add_then_boom(script)),
    )
    workflow = AgentWorkflow(agents=[agent], root_agent="calculator")

    await workflow.run(user_msg="multi-agent sum")

    episode = sqlite_memory.get_episode(inst.completed_episodes[0])
    assert episode.metadata["runner"] == "AgentWorkflow"
    assert [s.tool for s in episode.steps] == ["add", "boom"]


async def test_concurrent_runs_are_separate_episodes(sqlite_memory, instrument, script) -> None:
    inst = instrument(sqlite_memory)

    def mul(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    adder = FunctionAgent(
        tools=tools(),
        llm=script.llm(
            script.call("add", "a1", a=1, b=2),
            script.call("add", "a2", a=3, b=4),
            script.say("sums done"),
        ),
    )
    multiplier = FunctionAgent(
        tools=[FunctionTool.from_defaults(fn=mul)],
        llm=script.llm(script.call("mul", "m1", a=6, b=7), script.say("product done")),
    )

    results = await asyncio.gather(
        adder.run(user_msg="add some numbers"), multiplier.run(user_msg="multiply 6 by 7")
    )

    assert [str(r) for r in results] == ["sums done", "product done"]
    episodes = {
        e.task_description: e for e in map(sqlite_memory.get_episode, inst.completed_episodes)
    }
    assert set(episodes) == {"add some numbers", "multiply 6 by 7"}
    sums, product = episodes["add some numbers"], episodes["multiply 6 by 7"]
    assert [(s.tool, s.parameters, s.result.output if s.result else None) for s in sums.steps] == [
        ("add", {"a": 1, "b": 2}, "3"),
        ("add", {"a": 3, "b": 4}, "7"),
    ]
    assert [(s.tool, s.result.output if s.result else None) for s in product.steps] == [
        ("mul", "42")
    ]
    assert sums.outcome == TaskOutcome.success("sums done")
    assert product.outcome == TaskOutcome.success("product done")
    assert sums.token_usage is not None
    assert sums.token_usage.llm_calls == 3
    assert product.token_usage is not None
    assert product.token_usage.llm_calls == 2
    assert inst.open_episodes == []


async def test_parallel_tool_calls_are_logged_in_start_order(
    sqlite_memory, instrument, script
) -> None:
    inst = instrument(sqlite_memory)
    second_done = asyncio.Event()

    async def slow(x: str) -> str:
        """Finishes only after the second tool has."""
        await asyncio.wait_for(second_done.wait(), timeout=10)
        return f"slow {x}"

    async def fast(x: str) -> str:
        """Finishes at once."""
        second_done.set()
        return f"fast {x}"

    agent = FunctionAgent(
        tools=[
            FunctionTool.from_defaults(async_fn=slow),
            FunctionTool.from_defaults(async_fn=fast),
        ],
        llm=script.llm(
            script.calls(("slow", "p1", {"x": "a"}), ("fast", "p2", {"x": "b"})),
            script.say("both done"),
        ),
    )

    await agent.run(user_msg="run two tools at once")

    episode = sqlite_memory.get_episode(inst.completed_episodes[0])
    assert [(s.tool, s.result.output if s.result else None) for s in episode.steps] == [
        ("slow", "slow a"),
        ("fast", "fast b"),
    ]


async def test_detach_stops_recording(sqlite_memory, script) -> None:
    dispatcher = get_dispatcher()
    inst = MemoryInstrumentation(sqlite_memory)
    try:
        with inst:
            assert inst.is_attached
            await FunctionAgent(tools=tools(), llm=script.llm(script.say("one"))).run(
                user_msg="recorded"
            )
        assert not inst.is_attached
        assert all(h is not inst._span_handler for h in dispatcher.span_handlers)
        await FunctionAgent(tools=tools(), llm=script.llm(script.say("two"))).run(
            user_msg="not recorded"
        )
    finally:
        inst.detach()

    assert len(inst.completed_episodes) == 1
    tasks = [e.task_description for e in sqlite_memory.list_episodes()]
    assert tasks == ["recorded"]


def test_attach_twice_registers_once(sqlite_memory, instrument) -> None:
    dispatcher = get_dispatcher()
    spans_before = len(dispatcher.span_handlers)
    events_before = len(dispatcher.event_handlers)
    inst = instrument(sqlite_memory)
    inst.attach()
    assert len(dispatcher.span_handlers) == spans_before + 1
    assert len(dispatcher.event_handlers) == events_before + 1
    inst.detach()
    inst.detach()
    assert len(dispatcher.span_handlers) == spans_before
    assert len(dispatcher.event_handlers) == events_before


async def test_async_facade_is_accepted(sqlite_url, namespace, instrument, script) -> None:
    from memory_core import MemoryConfig

    async with SelfLearningMemory(
        MemoryConfig(database_url=sqlite_url, load_plugins=False), namespace=namespace
    ) as memory:
        inst = instrument(memory)
        await FunctionAgent(tools=tools(), llm=script.llm(*add_then_boom(script))).run(
            user_msg="async facade"
        )
        episode = await memory.get_episode(inst.completed_episodes[0])
        assert [s.tool for s in episode.steps] == ["add", "boom"]


async def test_failed_run_is_a_failure_episode(sqlite_memory, instrument, script) -> None:
    inst = instrument(sqlite_memory)
    agent = FunctionAgent(
        tools=tools(),
        llm=script.llm(script.call("add", "c1", a=1, b=1), RuntimeError("model is down")),
    )

    with pytest.raises(Exception, match="model is down"):
        await agent.run(user_msg="this run fails")

    episode = sqlite_memory.get_episode(inst.completed_episodes[0])
    assert [s.tool for s in episode.steps] == ["add"]
    assert episode.outcome is not None
    assert episode.outcome.kind == "failure"
    assert "model is down" in (episode.outcome.reason or "")


async def test_outcome_fn_decides_the_outcome(sqlite_memory, instrument, script) -> None:
    seen: list[RunSummary] = []

    def judge(summary: RunSummary) -> TaskOutcome | None:
        seen.append(summary)
        if any(not s.is_success for s in summary.steps):
            return TaskOutcome.partial_success("answered", completed=["add"], failed=["boom"])
        return None

    inst = instrument(sqlite_memory, outcome_fn=judge)
    await FunctionAgent(tools=tools(), llm=script.llm(*add_then_boom(script))).run(
        user_msg="judged run"
    )

    [summary] = seen
    assert summary.task_description == "judged run"
    assert summary.final_response == "done: 5"
    assert summary.error is None
    assert not summary.cancelled
    assert [s.tool for s in summary.steps] == ["add", "boom"]
    episode = sqlite_memory.get_episode(inst.completed_episodes[0])
    assert episode.outcome is not None
    assert episode.outcome.kind == "partial_success"


async def test_set_outcome_from_inside_a_tool(sqlite_memory, instrument, script) -> None:
    inst = instrument(sqlite_memory)
    seen_episode: list[Any] = []

    def give_up(reason: str) -> str:
        """Give up on the task."""
        seen_episode.append(inst.current_episode_id())
        inst.set_outcome(TaskOutcome.abstained(reason, stopped_at_step=1))
        return "given up"

    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(fn=give_up)],
        llm=script.llm(script.call("give_up", "g1", reason="infeasible"), script.say("sorry")),
    )
    await agent.run(user_msg="an impossible task")

    episode = sqlite_memory.get_episode(inst.completed_episodes[0])
    assert seen_episode == [episode.episode_id]
    assert episode.outcome == TaskOutcome.abstained("infeasible", stopped_at_step=1)


async def test_set_outcome_by_run_id_while_streaming(sqlite_memory, instrument, script) -> None:
    inst = instrument(sqlite_memory)
    agent = FunctionAgent(tools=tools(), llm=script.llm(*add_then_boom(script)))

    handler = agent.run(user_msg="streamed run")
    async for _event in handler.stream_events():
        if inst.episode_id_for(handler.run_id) is not None:
            inst.set_outcome(TaskOutcome.failure("user rejected the answer"), run_id=handler.run_id)
    await handler

    episode = sqlite_memory.get_episode(inst.completed_episodes[0])
    assert episode.outcome == TaskOutcome.failure("user rejected the answer")


def test_set_outcome_without_a_run_says_what_to_do(sqlite_memory, instrument) -> None:
    inst = instrument(sqlite_memory)
    with pytest.raises(InvalidInputError, match="no recorded run is in flight"):
        inst.set_outcome(TaskOutcome.success("x"))
    with pytest.raises(InvalidInputError, match="run_id 'nope'"):
        inst.set_outcome(TaskOutcome.success("x"), run_id="nope")


async def test_recording_errors_never_break_the_agent(sqlite_memory, instrument, script) -> None:
    def broken(summary: RunSummary) -> TaskOutcome | None:
        raise RuntimeError("outcome function is broken")

    inst = instrument(sqlite_memory, outcome_fn=broken)
    result = await FunctionAgent(tools=tools(), llm=script.llm(*add_then_boom(script))).run(
        user_msg="the host agent must still answer"
    )

    assert str(result) == "done: 5"
    assert inst.errors == 1
    assert isinstance(inst.last_error, RuntimeError)
    inst.detach()  # not strict: nothing raised


async def test_strict_mode_raises_the_recording_error_on_detach(
    sqlite_memory, instrument, script
) -> None:
    def broken(summary: RunSummary) -> TaskOutcome | None:
        raise RuntimeError("outcome function is broken")

    inst = instrument(sqlite_memory, outcome_fn=broken, strict=True)
    result = await FunctionAgent(tools=tools(), llm=script.llm(script.say("fine"))).run(
        user_msg="strict run"
    )

    assert str(result) == "fine"  # LlamaIndex's dispatcher swallows handler errors
    assert inst.errors == 1
    with pytest.raises(RuntimeError, match="outcome function is broken"):
        inst.detach()
    assert not inst.is_attached


async def test_closed_memory_is_counted_not_raised(
    sqlite_url, namespace, instrument, script
) -> None:
    from memory_core import MemoryConfig

    memory = SyncSelfLearningMemory(
        MemoryConfig(database_url=sqlite_url, load_plugins=False), namespace=namespace
    )
    memory.close()
    inst = instrument(memory)

    result = await FunctionAgent(tools=tools(), llm=script.llm(script.say("still works"))).run(
        user_msg="memory is closed"
    )

    assert str(result) == "still works"
    assert inst.errors >= 1
    assert inst.completed_episodes == []


def test_rejects_a_non_memory() -> None:
    with pytest.raises(InvalidInputError, match="SelfLearningMemory"):
        MemoryInstrumentation(object())  # type: ignore[arg-type]


async def test_run_inside_a_callers_own_span_is_recorded(sqlite_memory, instrument, script) -> None:
    inst = instrument(sqlite_memory)
    dispatcher = get_dispatcher("my_app")

    @dispatcher.span
    async def handle_request(question: str) -> str:
        agent = FunctionAgent(tools=tools(), llm=script.llm(*add_then_boom(script)))
        return str(await agent.run(user_msg=question))

    assert await handle_request("answer inside an app span") == "done: 5"

    episode = sqlite_memory.get_episode(inst.completed_episodes[0])
    assert episode.task_description == "answer inside an app span"
    assert [s.tool for s in episode.steps] == ["add", "boom"]


async def test_the_episode_is_searchable_right_after_the_run(memory, instrument, script) -> None:
    # steps and the completion are written on the recording thread; a read waits for it
    inst = instrument(memory, context={"domain": "math"})
    agent = FunctionAgent(tools=tools(), llm=script.llm(*add_then_boom(script)))

    await agent.run(user_msg="What is 2 + 3?")

    [found] = memory.search_episodes("What is 2 + 3?", {"domain": "math"})
    assert found.episode.is_complete
    assert [s.tool for s in found.episode.steps] == ["add", "boom"]
    assert inst.completed_episodes == [found.episode.episode_id]
