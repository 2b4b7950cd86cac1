# ruff: noqa: TID251  (a LlamaIndex benchmark imports LlamaIndex and its adapter)
"""Overhead of recording LlamaIndex agent runs with MemoryInstrumentation.

Runs the same scripted FunctionAgent (N tool calls per run) with and without the
instrumentation attached, interleaved run by run in the same process, on a SQLite file,
and reports the median and p95 per run and the difference recording makes, in wall time
and in CPU time of the event loop's thread (steadier on a busy machine). Steps and the
episode are written on the recording thread: after each recorded run the benchmark waits
for it, untimed (an agent's host is idle during its next LLM call; the scripted LLM never
waits), and reports that wait on its own row. Background learning runs as it would in an
application.

    python benchmarks/llamaindex_handler.py [--quick]
"""

from __future__ import annotations

import asyncio
import inspect
import tempfile
import time
import uuid
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

from _bench import Row, parse_args, print_table, summarize
from llama_index.core import Settings
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.agent.workflow.workflow_events import AgentWorkflowStartEvent
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ToolCallBlock,
)
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.llms import MockLLM
from llama_index.core.llms.callbacks import llm_chat_callback
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool
from pydantic import Field

from memory_core import MemoryConfig, SyncSelfLearningMemory
from memory_core_llamaindex import MemoryInstrumentation


class ScriptedLLM(MockFunctionCallingLLM):
    script: list[ChatMessage] = Field(default_factory=list)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        message = self.script.pop(0)

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            yield ChatResponse(
                message=message,
                delta=message.content or "",
                raw={"usage": {"prompt_tokens": 10, "completion_tokens": 2}},
            )

        return gen()


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


TOOLS = [FunctionTool.from_defaults(fn=add)]


def make_agent(tool_calls: int) -> FunctionAgent:
    script = [
        ChatMessage(
            role="assistant",
            blocks=[
                ToolCallBlock(tool_call_id=f"c{i}", tool_name="add", tool_kwargs={"a": i, "b": 1})
            ],
        )
        for i in range(tool_calls)
    ]
    script.append(ChatMessage(role="assistant", content="done"))
    return FunctionAgent(tools=TOOLS, llm=ScriptedLLM(script=script))


async def time_pair(
    memory: SyncSelfLearningMemory, runs: int, tool_calls: int
) -> tuple[dict[str, list[float]], MemoryInstrumentation]:
    """Per-run wall and CPU times without and with recording, interleaved to cancel drift."""
    inst = MemoryInstrumentation(memory)
    timings: dict[str, list[float]] = {
        key: [] for key in ("plain", "recorded", "plain cpu", "recorded cpu", "drain")
    }
    for i in range(runs + 2):  # the first two of each are warm-up
        for label, attached in (("plain", False), ("recorded", True)):
            agent = make_agent(tool_calls)
            if attached:
                inst.attach()
            c0 = time.thread_time()
            t0 = time.perf_counter()
            await agent.run(user_msg=f"add some numbers {i}", max_iterations=tool_calls + 5)
            elapsed = time.perf_counter() - t0
            cpu = time.thread_time() - c0
            if attached:
                inst.detach()
                inst.drain()
            if i >= 2:
                timings[label].append(elapsed)
                timings[f"{label} cpu"].append(cpu)
                if attached:
                    timings["drain"].append(time.perf_counter() - t0 - elapsed)
    return timings, inst


def span_overhead(memory: SyncSelfLearningMemory, spans: int) -> list[Row]:
    """Cost of one span enter+exit inside a recorded run, through the public dispatcher."""
    dispatcher = get_dispatcher()
    agent = make_agent(0)
    root_args = inspect.signature(lambda start_event, tags: None).bind(
        AgentWorkflowStartEvent(user_msg="span overhead"), {}
    )
    child_args = inspect.signature(lambda x: None).bind(1)
    rows = []
    for label, attached in (
        ("span enter+exit, not recorded", False),
        ("span enter+exit, in a recorded run", True),
    ):
        inst = MemoryInstrumentation(memory)
        if attached:
            inst.attach()
        root = f"FunctionAgent.run-{uuid.uuid4()}"
        dispatcher.span_enter(id_=root, bound_args=root_args, instance=agent, parent_id=None)
        timings: list[float] = []
        start = time.perf_counter()
        for _ in range(spans):
            child = f"Step.step-{uuid.uuid4()}"
            t0 = time.perf_counter()
            dispatcher.span_enter(id_=child, bound_args=child_args, instance=None, parent_id=root)
            dispatcher.span_exit(id_=child, bound_args=child_args, instance=None, result=None)
            timings.append(time.perf_counter() - t0)
        total = time.perf_counter() - start
        dispatcher.span_exit(id_=root, bound_args=root_args, instance=agent, result=None)
        inst.detach()
        rows.append(summarize(label, f"{spans} spans", timings, total))
    return rows


async def main(quick: bool) -> list[Row]:
    Settings.llm = MockLLM()
    Settings.embed_model = MockEmbedding(embed_dim=8)
    runs = 3 if quick else 200
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = MemoryConfig(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", load_plugins=False
        )
        with SyncSelfLearningMemory(config) as memory:
            for tool_calls in (1, 3) if quick else (1, 3, 10):
                size = f"{tool_calls} tool calls"
                timings, inst = await time_pair(memory, runs, tool_calls)
                assert inst.errors == 0, inst.last_error
                for kind, suffix in (("agent run", ""), ("agent run CPU (loop thread)", " cpu")):
                    plain, recorded = timings[f"plain{suffix}"], timings[f"recorded{suffix}"]
                    base = summarize(f"{kind}, not recorded", size, plain, sum(plain))
                    row = summarize(f"{kind}, recorded", size, recorded, sum(recorded))
                    row.note = (
                        f"{(row.p50_us - base.p50_us) / 1e3:+.2f} ms median, "
                        f"{(row.p95_us - base.p95_us) / 1e3:+.2f} ms p95 per run; "
                        f"{len(inst.completed_episodes)} episodes"
                    )
                    rows += [base, row]
                waits = timings["drain"]
                rows.append(
                    summarize(
                        "recording thread, after the run",
                        size,
                        waits,
                        sum(waits),
                        "wait until the run's episode is completed",
                    )
                )
            rows.extend(span_overhead(memory, 200 if quick else 20_000))
    return rows


if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0])
    print_table("LlamaIndex capture overhead (SQLite file)", asyncio.run(main(args.quick)))
