"""MemoryRetriever / PatternRetriever: langchain-tests conformance, LCEL chains, async path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import ParrotFakeChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough
from langchain_core.tools import create_retriever_tool
from langchain_tests.integration_tests import RetrieversIntegrationTests

from memory_core import (
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    SelfLearningMemory,
    SyncSelfLearningMemory,
    TaskOutcome,
)
from memory_core_langchain import MemoryRetriever, PatternRetriever


def record(memory: SyncSelfLearningMemory, task: str, ok: bool = True) -> None:
    eid = memory.start_episode(task, {"domain": "web", "language": "python"})
    memory.log_step(
        eid,
        ExecutionStep(
            tool="pytest",
            action="run the tests",
            result=ExecutionResult.success("1 failed") if ok else ExecutionResult.error("boom"),
        ),
    )
    memory.log_step(
        eid, ExecutionStep(tool="editor", action="fix it", result=ExecutionResult.success("ok"))
    )
    outcome = TaskOutcome.success("tests pass") if ok else TaskOutcome.failure("still red")
    memory.complete_episode(eid, outcome)


@pytest.fixture
def filled(mem: SyncSelfLearningMemory) -> SyncSelfLearningMemory:
    for i in range(5):
        record(mem, f"fix the failing login test number {i}", ok=i != 3)
    mem.wait_for_learning()
    return mem


WEB = {"domain": "web", "language": "python"}


class TestMemoryRetrieverConformance(RetrieversIntegrationTests):
    """langchain-tests' own retriever checks, on a real SQLite-backed memory."""

    @pytest.fixture(autouse=True)
    def _memory(self, mem_config: MemoryConfig) -> Iterator[None]:
        with SyncSelfLearningMemory(mem_config) as memory:
            for i in range(5):
                record(memory, f"fix the failing login test number {i}")
            self.memory = memory
            yield

    @property
    def retriever_constructor(self) -> type[MemoryRetriever]:
        return MemoryRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"memory": self.memory, "context": WEB}

    @property
    def retriever_query_example(self) -> str:
        return "fix the failing login test"


def test_documents_carry_summary_and_metadata(filled):
    docs = MemoryRetriever(memory=filled, k=5, context=WEB).invoke("fix the login test")
    assert len(docs) == 5
    doc = docs[0]
    assert isinstance(doc, Document)
    assert doc.page_content.startswith("Past task (other): fix the failing login test")
    assert "Tools: pytest -> editor" in doc.page_content
    assert "Outcome:" in doc.page_content
    assert doc.metadata["type"] == "episode"
    assert doc.id == doc.metadata["episode_id"]
    assert filled.get_episode(UUID(doc.id)).is_complete
    assert "reward" in doc.metadata
    assert "score" in doc.metadata
    assert isinstance(doc.metadata["score_breakdown"], dict)
    failed = [d for d in docs if d.metadata["outcome"] == "failure"]
    assert len(failed) == 1
    assert "Errors: pytest: boom" in failed[0].page_content or "Recovered" in failed[0].page_content


def test_filters_apply(filled):
    docs = MemoryRetriever(memory=filled, k=5, context=WEB, outcome_kind="failure").invoke("login")
    assert [d.metadata["outcome"] for d in docs] == ["failure"]
    assert MemoryRetriever(memory=filled, context=WEB, domain="elsewhere").invoke("login") == []


def _format_docs(docs: list[Document]) -> str:
    return "\n\n".join(d.page_content for d in docs)


def _rag_chain(retriever: Any) -> Any:
    prompt = ChatPromptTemplate.from_messages(
        [("human", "Past experience:\n{context}\n\nTask: {question}")]
    )
    return (
        {"context": retriever | _format_docs, "question": RunnablePassthrough()}
        | prompt
        | ParrotFakeChatModel()
        | StrOutputParser()
    )


def test_retriever_in_lcel_chain_sync(filled):
    chain = _rag_chain(MemoryRetriever(memory=filled, k=2, context=WEB))
    answer = chain.invoke("fix the login test")
    assert "Task: fix the login test" in answer
    assert answer.count("Past task (other): fix the failing login test") == 2


async def test_retriever_in_lcel_chain_async(filled):
    chain = _rag_chain(MemoryRetriever(memory=filled, k=3, context=WEB))
    answer = await chain.ainvoke("fix the login test")
    assert answer.count("Past task (other): fix the failing login test") == 3


class _CountingMemory(SelfLearningMemory):
    """The async facade, counting how often its coroutines are awaited."""

    awaited = 0

    async def search_episodes(self, *args: Any, **kwargs: Any) -> Any:
        type(self).awaited += 1
        return await super().search_episodes(*args, **kwargs)

    async def search_patterns(self, *args: Any, **kwargs: Any) -> Any:
        type(self).awaited += 1
        return await super().search_patterns(*args, **kwargs)


async def test_async_path_awaits_the_async_facade(filled, mem_config):
    memory = _CountingMemory(mem_config)
    try:
        docs = await MemoryRetriever(memory=memory, k=2, context=WEB).ainvoke("login")
        assert len(docs) == 2
        assert _CountingMemory.awaited == 1
        # the sync path uses the blocking view of the same memory
        assert len(MemoryRetriever(memory=memory, k=2, context=WEB).invoke("login")) == 2
        assert _CountingMemory.awaited == 1
        await PatternRetriever(memory=memory, context=WEB).ainvoke("login")
        assert _CountingMemory.awaited == 2
    finally:
        await memory.close()


async def test_async_path_with_blocking_memory(filled):
    docs = await MemoryRetriever(memory=filled, k=4, context=WEB).ainvoke("login", k=2)
    assert len(docs) == 2


def test_pattern_retriever_returns_patterns_as_documents(filled):
    docs = PatternRetriever(memory=filled, k=5, context=WEB).invoke("fix the login test")
    assert docs, "learning produced no pattern for five similar episodes"
    for doc in docs:
        assert doc.metadata["type"] == "pattern"
        assert doc.id == doc.metadata["pattern_id"]
        assert "success" in doc.page_content


def test_retriever_as_agent_tool(filled):
    tool = create_retriever_tool(
        MemoryRetriever(memory=filled, k=1, context=WEB), "past_runs", "Search past runs."
    )
    text = tool.invoke({"query": "login test"})
    assert text.startswith("Past task (other): fix the failing login test")
