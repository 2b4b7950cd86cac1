"""Fixtures for the LlamaIndex adapter: a scripted LLM, offline settings, memories and a
leak-free way to attach instrumentation (handlers are process-global)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import Settings
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
from pydantic import Field

from memory_core import MemoryConfig, SyncSelfLearningMemory
from memory_core_llamaindex import MemoryInstrumentation

USAGE = {"prompt_tokens": 20, "completion_tokens": 4}

# Deprecation warnings raised inside llama-index-core 0.14 / llama-index-workflows 2.x
# themselves (the workflow runtime inspects agents with inspect.getmembers, ReActAgent
# calls ctx.is_running). They are not ours to fix; everything else stays an error.
THIRD_PARTY_WARNINGS = (
    "ignore:The `__fields__` attribute is deprecated:DeprecationWarning",
    "ignore:The `__fields_set__` attribute is deprecated:DeprecationWarning",
    "ignore:Accessing the 'model_computed_fields' attribute on the instance:DeprecationWarning",
    "ignore:Accessing the 'model_fields' attribute on the instance:DeprecationWarning",
    "ignore:is_running called from within a step:DeprecationWarning",
)
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Apply the third-party warning filters to this directory's tests only."""
    for item in items:
        if _HERE in item.path.parents:
            for spec in THIRD_PARTY_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))


class ScriptedLLM(MockFunctionCallingLLM):
    """A function-calling LLM that answers from a script, reporting token usage.

    Each call pops the next scripted message; an exception in the script is raised
    instead (a failing model call).
    """

    script: list[Any] = Field(default_factory=list)
    usage: dict[str, int] = Field(default_factory=lambda: dict(USAGE))

    def _next(self) -> ChatResponse:
        if not self.script:
            raise RuntimeError("the scripted LLM ran out of answers")
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return ChatResponse(message=item, delta=item.content or "", raw={"usage": dict(self.usage)})

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        response = self._next()

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            yield response

        return gen()

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._next()


def tool_call(name: str, call_id: str, **kwargs: Any) -> ChatMessage:
    """An assistant message calling one tool."""
    return ChatMessage(
        role="assistant",
        blocks=[ToolCallBlock(tool_call_id=call_id, tool_name=name, tool_kwargs=kwargs)],
    )


def tool_calls(*calls: tuple[str, str, dict[str, Any]]) -> ChatMessage:
    """An assistant message calling several tools at once (parallel calls)."""
    return ChatMessage(
        role="assistant",
        blocks=[ToolCallBlock(tool_call_id=i, tool_name=n, tool_kwargs=kw) for n, i, kw in calls],
    )


def say(text: str) -> ChatMessage:
    """A final assistant answer."""
    return ChatMessage(role="assistant", content=text)


class Script:
    """Builders for scripted runs, handed to tests through the ``script`` fixture."""

    @staticmethod
    def llm(*items: Any, usage: dict[str, int] | None = None) -> ScriptedLLM:
        """A scripted LLM answering with ``items`` in order."""
        return ScriptedLLM(script=list(items), usage=dict(usage or USAGE))

    call = staticmethod(tool_call)
    calls = staticmethod(tool_calls)
    say = staticmethod(say)


@pytest.fixture
def script() -> type[Script]:
    """Builders for scripted LLMs and their messages."""
    return Script


@pytest.fixture(autouse=True)
def _offline_settings() -> Iterator[None]:
    """Global LlamaIndex defaults that never reach a network (mock LLM and embeddings)."""
    old_llm, old_embed = Settings._llm, Settings._embed_model
    Settings.llm = MockLLM()
    Settings.embed_model = MockEmbedding(embed_dim=8)
    yield
    Settings._llm, Settings._embed_model = old_llm, old_embed


@pytest.fixture
def sqlite_memory(sqlite_url: str, namespace: str) -> Iterator[SyncSelfLearningMemory]:
    """A blocking memory on a real SQLite file."""
    with SyncSelfLearningMemory(
        MemoryConfig(database_url=sqlite_url, load_plugins=False), namespace=namespace
    ) as mem:
        yield mem


@pytest.fixture
def instrument() -> Iterator[Callable[..., MemoryInstrumentation]]:
    """Attach instrumentation for one test and always remove it afterwards."""
    made: list[MemoryInstrumentation] = []

    def make(memory: Any, **kwargs: Any) -> MemoryInstrumentation:
        inst = MemoryInstrumentation(memory, **kwargs)
        made.append(inst)
        return inst.attach()

    yield make
    dispatcher = get_dispatcher()
    for inst in made:
        # Strict instances re-raise recording errors on detach; the tests check those.
        with contextlib.suppress(Exception):
            inst.detach()
    leftovers = [
        h
        for h in [*dispatcher.span_handlers, *dispatcher.event_handlers]
        if type(h).__module__.startswith("memory_core_llamaindex")
    ]
    assert not leftovers, "instrumentation handlers leaked past the test"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for an extra SQLite file."""
    return tmp_path / "extra.db"
