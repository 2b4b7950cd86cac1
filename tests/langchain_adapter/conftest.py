"""Fixtures for the LangChain adapter tests: real memories on SQLite files, scripted models.

The chat models are langchain-core's ``GenericFakeChatModel`` with ``bind_tools``
returning ``self`` (``create_agent`` needs it), so agents run offline and reproducibly.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import StructuredTool, ToolException, tool

from memory_core import MemoryConfig, RetrievalConfig, SelfLearningMemory, SyncSelfLearningMemory


class ScriptedChatModel(GenericFakeChatModel):
    """A fake chat model that replays scripted messages and accepts ``bind_tools``."""

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Any:
        return self


class ArithmeticChatModel(ScriptedChatModel):
    """Answers "add A and B" with an ``add`` tool call, then with the tool's result.

    Its reply depends only on the conversation, so one model serves many concurrent runs.
    """

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        last = messages[-1]
        usage = {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}
        if isinstance(last, HumanMessage):
            a, b = (int(x) for x in re.findall(r"-?\d+", str(last.content))[:2])
            message = AIMessage(
                content="",
                tool_calls=[
                    {
                        "name": "add",
                        "args": {"a": a, "b": b},
                        "id": f"c-{a}-{b}",
                        "type": "tool_call",
                    }
                ],
                usage_metadata=usage,
            )
        else:
            assert isinstance(last, ToolMessage)
            message = AIMessage(content=f"the sum is {last.content}", usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])


def tool_call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def ai(
    content: str = "",
    calls: list[dict[str, Any]] | None = None,
    tokens: tuple[int, int] | None = None,
) -> AIMessage:
    usage = None
    if tokens is not None:
        usage = {"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)}
    return AIMessage(content=content, tool_calls=calls or [], usage_metadata=usage)


def scripted(*messages: AIMessage) -> ScriptedChatModel:
    return ScriptedChatModel(messages=iter(messages))


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def boom(x: str) -> str:
    """Always fails."""
    raise ValueError(f"boom({x}) failed")


def _boom_handled(x: str) -> str:
    raise ToolException(f"boom_handled({x}) failed")


boom_handled = StructuredTool.from_function(
    func=_boom_handled,
    name="boom_handled",
    description="Fails with a ToolException the tool turns into an error message.",
    handle_tool_error=True,
)

WORK_SECONDS: dict[str, float] = {}


@tool
def crunch(n: int) -> int:
    """Do some work and report how long it took (the recorded latency must cover it)."""
    t0 = time.perf_counter()
    total = sum(i * i for i in range(n))
    WORK_SECONDS[f"crunch-{n}"] = time.perf_counter() - t0
    return total


@pytest.fixture
def mem_config(sqlite_url: str) -> MemoryConfig:
    # refresh 0: patterns learned in the background are visible to the very next search
    return MemoryConfig(
        database_url=sqlite_url,
        load_plugins=False,
        retrieval=RetrievalConfig(refresh_interval_seconds=0),
    )


@pytest.fixture
def mem(mem_config: MemoryConfig) -> Iterator[SyncSelfLearningMemory]:
    with SyncSelfLearningMemory(mem_config) as memory:
        yield memory


@pytest.fixture
async def amem(mem_config: MemoryConfig) -> AsyncIterator[SelfLearningMemory]:
    async with SelfLearningMemory(mem_config) as memory:
        yield memory


@pytest.fixture
def kit() -> SimpleNamespace:
    """The scripted models, message builders and tools, for the tests to use."""
    return SimpleNamespace(
        ScriptedChatModel=ScriptedChatModel,
        ArithmeticChatModel=ArithmeticChatModel,
        scripted=scripted,
        ai=ai,
        call=tool_call,
        add=add,
        boom=boom,
        boom_handled=boom_handled,
        crunch=crunch,
        work_seconds=WORK_SECONDS,
    )
