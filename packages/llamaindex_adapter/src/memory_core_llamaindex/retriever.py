"""`MemoryRetriever`: past episodes as LlamaIndex nodes, for query engines and agents."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from memory_core import (
    InvalidInputError,
    RetrievedEpisode,
    SelfLearningMemory,
    SyncSelfLearningMemory,
    TaskContext,
    episode_metadata,
    format_episode,
)

__all__ = ["MemoryRetriever", "episode_node"]


def episode_node(result: RetrievedEpisode) -> NodeWithScore:
    """A retrieved episode as a scored node.

    The text is memory-core's shared LLM-ready summary (`format_episode`), the metadata
    its `episode_metadata`, the same as the LangChain adapter's documents. The metadata is
    excluded from what the LLM and the embedder see, so the prompt holds exactly the
    summary.
    """
    metadata = episode_metadata(result)
    node = TextNode(
        id_=str(result.episode.episode_id),
        text=format_episode(result.episode),
        metadata=metadata,
        excluded_llm_metadata_keys=list(metadata),
        excluded_embed_metadata_keys=list(metadata),
    )
    return NodeWithScore(node=node, score=result.score)


class MemoryRetriever(BaseRetriever):
    """A LlamaIndex retriever over the episodes of a memory-core memory.

    Use it anywhere LlamaIndex takes a retriever: ``RetrieverQueryEngine.from_args(
    MemoryRetriever(memory=m), llm=...)``, or wrapped in a tool (see `create_memory_tool`).

    Args:
        memory: Either facade. With `SelfLearningMemory`, async retrieval awaits its
            async methods; with `SyncSelfLearningMemory` it runs in a worker thread.
        k: How many episodes to return at most.
        context: Task context used to rank episodes (same domain, language, tags...).
        callback_manager: Passed to LlamaIndex's `BaseRetriever`.
        **filters: Extra filters for ``search_episodes`` (``domain``, ``task_type``,
            ``outcome_kind``, ``min_reward``, ...).

    Raises:
        InvalidInputError: ``k`` is below 1 or ``memory`` is not a memory-core facade.
    """

    def __init__(
        self,
        memory: SelfLearningMemory | SyncSelfLearningMemory,
        k: int = 4,
        context: TaskContext | Mapping[str, Any] | None = None,
        *,
        callback_manager: CallbackManager | None = None,
        **filters: Any,
    ) -> None:
        if not isinstance(memory, SelfLearningMemory | SyncSelfLearningMemory):
            raise InvalidInputError(
                f"memory must be a SelfLearningMemory or SyncSelfLearningMemory, "
                f"not {type(memory).__name__}"
            )
        if k < 1:
            raise InvalidInputError(f"k must be at least 1, got {k}")
        self.memory = memory
        self.k = k
        self.context = context
        self.filters = filters
        super().__init__(callback_manager=callback_manager)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """Rank past episodes for the query (blocking)."""
        found = self.memory.sync.search_episodes(
            query_bundle.query_str, self.context, self.k, **self.filters
        )
        return [episode_node(r) for r in found]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """Rank past episodes for the query without blocking the event loop."""
        if isinstance(self.memory, SelfLearningMemory):
            found = await self.memory.search_episodes(
                query_bundle.query_str, self.context, self.k, **self.filters
            )
        else:
            found = await asyncio.to_thread(
                self.memory.search_episodes,
                query_bundle.query_str,
                self.context,
                self.k,
                **self.filters,
            )
        return [episode_node(r) for r in found]
