"""Optional semantic similarity: the `Embedder` protocol.

memory-core never downloads a model. Pass any object with an ``embed`` method (for
example the LangChain or LlamaIndex bridges in the adapter packages) to the memory to
add semantic similarity to retrieval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into fixed-length vectors (same length for every text)."""

    @property
    def name(self) -> str:
        """A stable identifier of the model (stored with the vectors)."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one vector per text, in order."""
        ...
