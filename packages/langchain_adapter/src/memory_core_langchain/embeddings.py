"""`LangChainEmbedder`: use any LangChain `Embeddings` as a memory-core `Embedder`."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.embeddings import Embeddings

from memory_core import InvalidInputError

__all__ = ["LangChainEmbedder"]


class LangChainEmbedder:
    """Wraps a LangChain `Embeddings` so memory-core can rank episodes semantically.

    Satisfies the `memory_core.Embedder` protocol. Nothing is downloaded here: the wrapped
    object does whatever it does (a local model, a remote API, a fake for tests).

    Args:
        embeddings: Any LangChain embeddings object (``embed_documents`` is used).
        name: Stable model identifier stored with the vectors; by default the class name
            plus its ``model``/``model_name`` attribute when it has one.

    Example:
        >>> from langchain_core.embeddings import DeterministicFakeEmbedding
        >>> embedder = LangChainEmbedder(DeterministicFakeEmbedding(size=8))
        >>> len(embedder.embed(["hello"])[0])
        8
    """

    def __init__(self, embeddings: Embeddings, *, name: str | None = None) -> None:
        if not isinstance(embeddings, Embeddings):
            raise InvalidInputError(
                f"expected a langchain_core Embeddings object, got {type(embeddings).__name__}"
            )
        self.embeddings = embeddings
        model = getattr(embeddings, "model", None) or getattr(embeddings, "model_name", None)
        default = f"langchain:{type(embeddings).__name__}" + (f":{model}" if model else "")
        self._name = name or default

    @property
    def name(self) -> str:
        """A stable identifier of the wrapped model."""
        return self._name

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one vector (plain floats) per text, in order."""
        if not texts:
            return []
        vectors = self.embeddings.embed_documents(list(texts))
        if len(vectors) != len(texts):
            raise InvalidInputError(
                f"{self._name} returned {len(vectors)} vectors for {len(texts)} texts"
            )
        return [[float(x) for x in vector] for vector in vectors]

    def __repr__(self) -> str:
        return f"LangChainEmbedder(name={self._name!r})"
