# ruff: noqa: TID251  (a LangChain benchmark imports LangChain and its adapter)
"""Per-event overhead of MemoryCallbackHandler, and its cost on a real agent run.

Calls the handler's callbacks directly (as LangChain does, inline) to time each kind of
event, then runs the same scripted ``create_agent`` agent (4 model calls, 3 tool calls)
without memory, with `MemoryCallbackHandler` and with `MemoryMiddleware` (recording only),
interleaved in the same run, and reports the median and p95 per run and the difference
from the run without memory, in wall time and in CPU time of the host thread (steadier on
a busy machine). The adapters log steps and complete episodes on the recording thread:
after each recorded run the benchmark waits for it, untimed, as an agent's host would be
idle during its next LLM call (the fake model here never waits), and reports that wait
separately ("recording thread") and added to the run ("run + recording thread").
Background learning runs as it would in an application. Everything is on a SQLite file in
a temporary directory.

    python benchmarks/langchain_handler.py [--quick]
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _bench import Row, parse_args, print_table, summarize
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult, LLMResult
from langchain_core.tools import tool

from memory_core import MemoryConfig, RecorderStats, SyncSelfLearningMemory
from memory_core_langchain import MemoryCallbackHandler, MemoryMiddleware

USAGE = {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}
STEPS_PER_EPISODE = 400  # stay below the per-episode step limit


TOOL_CALLS = 3


class ToolCallingModel(GenericFakeChatModel):
    """Three tool calls, then an answer; the reply depends only on the conversation."""

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Any:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        done = sum(isinstance(m, ToolMessage) for m in messages)
        if done < TOOL_CALLS:
            call = {"name": "add", "args": {"a": done, "b": 1}, "id": f"c{done}"}
            message = AIMessage(content="", tool_calls=[{**call, "type": "tool_call"}])
        else:
            message = AIMessage(content="done")
        message.usage_metadata = USAGE  # type: ignore[assignment]
        return ChatResult(generations=[ChatGeneration(message=message)])


class HooksOnly(AgentMiddleware[Any, Any, Any]):
    """A middleware with the same graph hooks as MemoryMiddleware that does nothing.

    LangGraph runs a node per before/after-agent hook: this measures what having such a
    middleware costs the framework, so the recording cost can be read off the difference.
    """

    def before_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return None

    def after_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return None

    def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        return handler(request)

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        return handler(request)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _pairs(
    n: int, setup: Callable[[], None], start: Callable[[int], None], end: Callable[[int], None]
) -> tuple[list[float], list[float], float, float]:
    """Time ``start(i)`` then ``end(i)`` n times; ``setup`` (untimed) every few hundred."""
    starts: list[float] = []
    ends: list[float] = []
    for i in range(n):
        if i % STEPS_PER_EPISODE == 0:
            setup()
        t0 = time.perf_counter()
        start(i)
        t1 = time.perf_counter()
        end(i)
        t2 = time.perf_counter()
        starts.append(t1 - t0)
        ends.append(t2 - t1)
    return starts, ends, sum(starts), sum(ends)


def bench_events(memory: SyncSelfLearningMemory, n: int) -> list[Row]:
    handler = MemoryCallbackHandler(memory)
    root: list[uuid.UUID] = []

    def new_root() -> None:
        if root:
            handler.on_chain_end({"output": "ok"}, run_id=root.pop())
        run_id = uuid.uuid4()
        handler.on_chain_start({"name": "bench"}, {"input": "benchmark the handler"}, run_id=run_id)
        root.append(run_id)

    ids = [uuid.uuid4() for _ in range(n)]
    llm_result = LLMResult(
        generations=[[ChatGeneration(message=AIMessage(content="x", usage_metadata=USAGE))]]
    )
    tool_out = ToolMessage(content="5", tool_call_id="call-1", status="success")
    serialized = {"name": "add"}
    rows = []

    def chain_start(i: int) -> None:
        handler.on_chain_start({"name": "node"}, {}, run_id=ids[i], parent_run_id=root[0])

    def chain_end(i: int) -> None:
        handler.on_chain_end({}, run_id=ids[i], parent_run_id=root[0])

    def tool_start(i: int) -> None:
        handler.on_tool_start(
            serialized,
            "{'a': 2, 'b': 3}",
            run_id=ids[i],
            parent_run_id=root[0],
            inputs={"a": 2, "b": 3},
            tool_call_id="call-1",
        )

    def tool_end(i: int) -> None:
        handler.on_tool_end(tool_out, run_id=ids[i], parent_run_id=root[0])

    def model_start(i: int) -> None:
        handler.on_chat_model_start({}, [[]], run_id=ids[i], parent_run_id=root[0])

    def model_end(i: int) -> None:
        handler.on_llm_end(llm_result, run_id=ids[i], parent_run_id=root[0])

    for kind, start, end, note in (
        ("chain", chain_start, chain_end, "child run (graph node)"),
        ("tool", tool_start, tool_end, "one step (logged on the recording thread)"),
        ("chat_model", model_start, model_end, "adds token usage"),
    ):
        ids = [uuid.uuid4() for _ in range(n)]
        t_start, t_end, total_start, total_end = _pairs(n, new_root, start, end)
        end_name = "on_llm_end" if kind == "chat_model" else f"on_{kind}_end"
        rows.append(summarize(f"on_{kind}_start", f"{n} events", t_start, total_start, note))
        rows.append(summarize(end_name, f"{n} events", t_end, total_end, note))
    handler.on_chain_end({"output": "ok"}, run_id=root.pop())

    timings = []
    t_all = time.perf_counter()
    for _ in range(max(5, n // 20)):
        run_id = uuid.uuid4()
        t0 = time.perf_counter()
        handler.on_chain_start({"name": "bench"}, {"input": "a short run"}, run_id=run_id)
        handler.on_chain_end({"output": "ok"}, run_id=run_id)
        timings.append(time.perf_counter() - t0)
        handler.drain()
    rows.append(
        summarize(
            "outermost run start+end",
            f"{len(timings)} episodes",
            timings,
            time.perf_counter() - t_all,
            "on the host thread; completed on the recording thread",
        )
    )
    assert handler.errors == 0, f"{handler.errors} recording errors"
    return rows


def bench_agent(memory: SyncSelfLearningMemory, runs: int) -> list[Row]:
    """The same agent run without memory, with the handler and with the middleware.

    The four are interleaved run by run so that drift (other processes, learning
    catching up) falls on all of them alike.
    """
    model = ToolCallingModel(messages=iter([]))
    plain = create_agent(model, [add])
    handler = MemoryCallbackHandler(memory)
    middleware = MemoryMiddleware(memory, inject=False)
    recorded = create_agent(model, [add], middleware=[middleware])
    hooks_only = create_agent(model, [add], middleware=[HooksOnly()])
    setups: dict[str, tuple[Any, dict[str, Any], RecorderStats | None]] = {
        "no memory": (plain, {}, None),
        "MemoryCallbackHandler": (plain, {"callbacks": [handler]}, handler),
        "no-op middleware (same hooks)": (hooks_only, {}, None),
        "MemoryMiddleware (record)": (recorded, {}, middleware),
    }
    wall: dict[str, list[float]] = {label: [] for label in setups}
    cpu: dict[str, list[float]] = {label: [] for label in setups}
    drain: dict[str, list[float]] = {label: [] for label in setups}
    for agent, config, adapter in setups.values():
        for _ in range(3):
            agent.invoke({"messages": [("user", "warm up")]}, config=config)
            if adapter is not None:
                adapter.drain()
    for i in range(runs):
        for label, (agent, config, adapter) in setups.items():
            c0 = time.thread_time()
            t0 = time.perf_counter()
            agent.invoke({"messages": [("user", f"add things {i}")]}, config=config)
            t1 = time.perf_counter()
            cpu[label].append(time.thread_time() - c0)
            wall[label].append(t1 - t0)
            if adapter is not None:
                adapter.drain()
                drain[label].append(time.perf_counter() - t1)
    assert handler.errors == 0, handler.last_error
    assert middleware.errors == 0, middleware.last_error
    rows: list[Row] = []
    for kind, timings in (("agent run", wall), ("agent run CPU (host thread)", cpu)):
        block = [
            summarize(f"{kind}, {label}", f"{runs} runs", t, sum(t), "4 model + 3 tool calls")
            for label, t in timings.items()
        ]
        # the handler against the plain agent, the middleware against the no-op middleware
        for row, base in ((block[1], block[0]), (block[2], block[0]), (block[3], block[2])):
            row.note = _delta(row, base)
        rows += block
    for label, base in (
        ("MemoryCallbackHandler", "no memory"),
        ("MemoryMiddleware (record)", "no-op middleware (same hooks)"),
    ):
        waits = drain[label]
        rows.append(
            summarize(
                f"recording thread, {label}",
                f"{runs} runs",
                waits,
                sum(waits),
                "wait after the run until its episode is completed",
            )
        )
        total = [a + b for a, b in zip(wall[label], waits, strict=True)]
        row = summarize(f"run + recording thread, {label}", f"{runs} runs", total, sum(total))
        row.note = _delta(row, summarize(base, "", wall[base], sum(wall[base])))
        rows.append(row)
    return rows


def _delta(row: Row, base: Row) -> str:
    d50 = row.p50_us - base.p50_us
    d95 = row.p95_us - base.p95_us
    return (
        f"{d50 / 1e3:+.2f} ms median, {d95 / 1e3:+.2f} ms p95 per run "
        f"vs {base.operation.rpartition(', ')[2]}"
    )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    n, runs = (200, 5) if args.quick else (5000, 200)
    with tempfile.TemporaryDirectory() as tmp:
        config = MemoryConfig(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", load_plugins=False
        )
        with SyncSelfLearningMemory(config) as memory:
            rows = bench_events(memory, n) + bench_agent(memory, runs)
    print_table("MemoryCallbackHandler overhead (per event; SQLite file)", rows)


if __name__ == "__main__":
    main()
