"""LangChainEmbedder: any LangChain Embeddings as a memory-core Embedder."""

from __future__ import annotations

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from memory_core import Embedder, InvalidInputError, SyncSelfLearningMemory, TaskOutcome
from memory_core_langchain import LangChainEmbedder


class _Named(DeterministicFakeEmbedding):
    model: str = "fake-model-1"


class _Broken(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[0.0]]

    def embed_query(self, text: str) -> list[float]:
        return [0.0]


def test_embedder_protocol_and_vectors():
    embedder = LangChainEmbedder(DeterministicFakeEmbedding(size=8))
    assert isinstance(embedder, Embedder)
    assert embedder.name == "langchain:DeterministicFakeEmbedding"
    vectors = embedder.embed(["alpha", "beta", "alpha"])
    assert len(vectors) == 3
    assert all(len(v) == 8 and all(type(x) is float for x in v) for v in vectors)
    assert vectors[0] == vectors[2] != vectors[1]
    assert embedder.embed([]) == []


def test_embedder_name_uses_model_attribute_or_override():
    assert LangChainEmbedder(_Named(size=4)).name == "langchain:_Named:fake-model-1"
    assert LangChainEmbedder(_Named(size=4), name="mine").name == "mine"


def test_embedder_rejects_non_embeddings_and_bad_results():
    with pytest.raises(InvalidInputError, match="Embeddings"):
        LangChainEmbedder(object())  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="1 vectors for 2 texts"):
        LangChainEmbedder(_Broken()).embed(["a", "b"])


def test_memory_searches_with_the_bridge(mem_config):
    embedder = LangChainEmbedder(DeterministicFakeEmbedding(size=16))
    with SyncSelfLearningMemory(mem_config, embedder=embedder) as memory:
        for task in ("parse the csv report", "deploy the web service"):
            memory.complete_episode(memory.start_episode(task), TaskOutcome.success("done"))
        found = memory.search_episodes("parse the csv report", limit=2)
        assert found[0].episode.task_description == "parse the csv report"
