"""The process-wide memory budget of in-memory indexes (many namespaces, one process)."""

from __future__ import annotations

from pathlib import Path

from tests.support.corpus import generate_corpus, held_out_queries

from memory_core import MemoryConfig, SQLAlchemyEpisodeStore, TaskContext
from memory_core.retrieval import EpisodeFilters, RetrievalEngine
from memory_core.retrieval.budget import IndexBudget, index_budget
from memory_core.storage import WriteBatch


class _Owner:
    def __init__(self, busy: bool = False) -> None:
        self.busy = busy
        self.dropped = False

    def drop_index(self) -> bool:
        if self.busy:
            return False
        self.dropped = True
        return True


def test_the_least_recently_charged_indexes_are_dropped_first() -> None:
    budget = IndexBudget()
    first, second, third = _Owner(), _Owner(), _Owner()
    budget.charge(first, 400, 1_000)
    budget.charge(second, 400, 1_000)
    budget.charge(first, 400, 1_000)  # searched again: now the most recent
    assert budget.charge(third, 400, 1_000) == 1
    assert second.dropped
    assert not first.dropped
    assert not third.dropped
    assert budget.used == 800
    busy = _Owner(busy=True)
    budget.charge(busy, 400, 10_000)
    budget.charge(_Owner(), 900, 1_000)  # the busy one stays counted, the others go
    assert not busy.dropped
    assert first.dropped
    assert third.dropped
    assert budget.charge(_Owner(), 10**9, 0) == 0  # 0: no limit


def test_many_namespaces_stay_within_the_budget(tmp_path: Path) -> None:
    store = SQLAlchemyEpisodeStore(f"sqlite:///{tmp_path / 'memory.db'}")
    namespaces = [f"tenant-{i}" for i in range(4)]
    for number, namespace in enumerate(namespaces):
        store.write(namespace, WriteBatch(new_episodes=generate_corpus(60, seed=number)))
    # room for about two of these indexes
    config = MemoryConfig(retrieval={"memory_budget_mb": 0.12})  # type: ignore[arg-type]
    engines = [RetrievalEngine(config, store, ns) for ns in namespaces]
    query = held_out_queries(seed=1)[0].description
    try:
        first = [
            r.episode.episode_id
            for r in engines[0].search_episodes(query, TaskContext(), 5, EpisodeFilters())
        ]
        for engine in engines[1:]:
            assert engine.search_episodes(query, TaskContext(), 5, EpisodeFilters())
        held = [engine._index is not None for engine in engines]
        assert held[-1]
        assert not held[0]
        assert index_budget.used <= 0.12 * 2**20
        again = [
            r.episode.episode_id
            for r in engines[0].search_episodes(query, TaskContext(), 5, EpisodeFilters())
        ]
        assert again == first  # rebuilt on demand, same answer
    finally:
        for engine in engines:
            engine.close()
        store.close()
