"""LlamaIndex integration for memory-core.

* `MemoryInstrumentation`: records LlamaIndex agent runs (and tool-routing query engines)
  as episodes, through the instrumentation dispatcher.
* `MemoryRetriever`: past episodes as LlamaIndex nodes, for query engines.
* `create_memory_tool`: a ``FunctionTool`` letting an agent search its memory.
* `LlamaIndexEmbedder`: any LlamaIndex embedding model as a memory-core `Embedder`.
"""

from memory_core_llamaindex.embeddings import LlamaIndexEmbedder
from memory_core_llamaindex.instrumentation import MemoryInstrumentation, OutcomeFn, RunSummary
from memory_core_llamaindex.retriever import MemoryRetriever, episode_node
from memory_core_llamaindex.tools import create_memory_tool

__version__ = "0.1.0"

__all__ = [
    "LlamaIndexEmbedder",
    "MemoryInstrumentation",
    "MemoryRetriever",
    "OutcomeFn",
    "RunSummary",
    "__version__",
    "create_memory_tool",
    "episode_node",
]
