"""LangChain retrievers over memory-core: past episodes, or learned patterns, as Documents.

Both are ordinary `BaseRetriever`s, so they work in LCEL chains
(``retriever | format_docs | prompt | model``), with ``invoke``/``ainvoke``/``batch``,
and as agent tools (``create_retriever_tool``). The async path is native: with a
`SelfLearningMemory` it awaits the facade's coroutines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from memory_core import OutcomeKind, TaskContext, TaskType
from memory_core_langchain._lookup import AnyMemory, Lookup, episode_documents, pattern_documents

__all__ = ["MemoryRetriever", "PatternRetriever"]


class MemoryRetriever(BaseRetriever):
    """Retrieves past episodes relevant to a query (the task description) as Documents.

    ``page_content`` is the compact LLM-ready summary of an episode (task, outcome, tool
    sequence, errors and recoveries, reflection insights); ``metadata`` holds the episode
    id, reward, score and score breakdown; ``id`` is the episode id.

    Args:
        memory: A `SelfLearningMemory` or `SyncSelfLearningMemory`.
        k: How many episodes to return (``invoke(query, k=...)`` overrides it per call).
        context: The task context to rank against (default: a general context).
        domain, task_type, outcome_kind, min_reward, since, until: Optional hard filters.

    Example:
        >>> retriever = MemoryRetriever(memory=memory, k=3)  # doctest: +SKIP
        >>> docs = retriever.invoke("fix the failing login test")  # doctest: +SKIP
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: AnyMemory
    k: int = Field(default=4, ge=1, le=1000)
    context: TaskContext | None = None
    domain: str | None = None
    task_type: TaskType | None = None
    outcome_kind: OutcomeKind | None = None
    min_reward: float | None = None
    since: datetime | None = None
    until: datetime | None = None

    def _lookup(self, query: str, k: int | None) -> Lookup:
        names = ("domain", "task_type", "outcome_kind", "min_reward", "since", "until")
        filters = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        return Lookup(query, self.context, k or self.k, 0, filters)

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        episodes = self._lookup(query, k).run(self.memory).episodes
        return episode_documents(episodes)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        episodes = (await self._lookup(query, k).arun(self.memory)).episodes
        return episode_documents(episodes)


class PatternRetriever(BaseRetriever):
    """Retrieves learned patterns (tool sequences, decisions, error recoveries...) as Documents.

    The query is used as the task description when ranking; ``context`` selects the
    domain/language the patterns come from.

    Args:
        memory: A `SelfLearningMemory` or `SyncSelfLearningMemory`.
        k: How many patterns to return (``invoke(query, k=...)`` overrides it per call).
        context: The task context to rank against (default: a general context).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: AnyMemory
    k: int = Field(default=4, ge=1, le=1000)
    context: TaskContext | None = None

    def _lookup(self, query: str, k: int | None) -> Lookup:
        return Lookup(query, self.context, 0, k or self.k)

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        patterns = self._lookup(query, k).run(self.memory).patterns
        return pattern_documents(patterns)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        patterns = (await self._lookup(query, k).arun(self.memory)).patterns
        return pattern_documents(patterns)
