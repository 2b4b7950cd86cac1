"""`LlamaIndexEmbedder`: any LlamaIndex embedding model as a memory-core `Embedder`."""

from __future__ import annotations

from collections.abc import Sequence

from llama_index.core.base.embeddings.base import BaseEmbedding

from memory_core import InvalidInputError

__all__ = ["LlamaIndexEmbedder"]


class LlamaIndexEmbedder:
    """Adapts a LlamaIndex `BaseEmbedding` to the `memory_core.Embedder` protocol.

    ``SelfLearningMemory(embedder=LlamaIndexEmbedder(embed_model))`` adds semantic
    similarity to retrieval with whatever model LlamaIndex is configured with (local or
    remote); memory-core itself never downloads a model.

    Args:
        embed_model: The LlamaIndex embedding model.
        name: Stable identifier stored with the vectors; defaults to
            ``"llamaindex:<class>:<model_name>"``.

    Raises:
        InvalidInputError: ``embed_model`` is not a LlamaIndex ``BaseEmbedding``.
    """

    def __init__(self, embed_model: BaseEmbedding, *, name: str | None = None) -> None:
        if not isinstance(embed_model, BaseEmbedding):
            raise InvalidInputError(
                f"embed_model must be a LlamaIndex BaseEmbedding, not {type(embed_model).__name__}"
            )
        self._model = embed_model
        self._name = name or f"llamaindex:{type(embed_model).__name__}:{embed_model.model_name}"

    @property
    def name(self) -> str:
        """A stable identifier of the model (stored with the vectors)."""
        return self._name

    @property
    def model(self) -> BaseEmbedding:
        """The wrapped LlamaIndex model."""
        return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order (batched by the model's ``embed_batch_size``)."""
        if not texts:
            return []
        vectors = self._model.get_text_embedding_batch(list(texts))
        return [[float(x) for x in v] for v in vectors]
