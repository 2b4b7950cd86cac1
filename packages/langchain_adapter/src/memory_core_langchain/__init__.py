"""LangChain integration for memory-core.

* `MemoryCallbackHandler` / `capture`: record any LangChain run (LCEL chain, LangGraph
  graph, ``create_agent`` agent) as an episode: tool calls become steps, model calls add
  token usage.
* `MemoryRetriever` / `PatternRetriever`: past episodes / learned patterns as Documents.
* `create_memory_tool`: a tool an agent calls to look up past experience.
* `MemoryMiddleware`: ``create_agent`` middleware injecting past experience into the
  system prompt and recording the run (needs ``memory-core-langchain[agents]``).
* `LangChainEmbedder`: any LangChain ``Embeddings`` as a memory-core ``Embedder``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memory_core_langchain.callbacks import MemoryCallbackHandler, capture
from memory_core_langchain.embeddings import LangChainEmbedder
from memory_core_langchain.retrievers import MemoryRetriever, PatternRetriever
from memory_core_langchain.tools import create_memory_tool

if TYPE_CHECKING:
    from memory_core_langchain.middleware import MemoryMiddleware

__all__ = [
    "LangChainEmbedder",
    "MemoryCallbackHandler",
    "MemoryMiddleware",
    "MemoryRetriever",
    "PatternRetriever",
    "capture",
    "create_memory_tool",
]


def __getattr__(name: str) -> Any:
    """Import `MemoryMiddleware` lazily: it needs the optional ``langchain`` package."""
    if name == "MemoryMiddleware":
        from memory_core_langchain.middleware import MemoryMiddleware

        return MemoryMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
