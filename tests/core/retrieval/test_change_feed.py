"""The engine applies the change feed exactly once, including late-committed entries."""

from __future__ import annotations

import random
from collections.abc import Sequence
from uuid import UUID

from tests.support.corpus import FAMILIES, make_episode

from memory_core import (
    MemoryConfig,
    RetrievalConfig,
    SQLAlchemyEpisodeStore,
    TaskContext,
    ToolSequence,
)
from memory_core.retrieval import EpisodeFilters, RetrievalEngine
from memory_core.storage import Change
from memory_core.storage.base import WriteBatch


class LateFeedStore(SQLAlchemyEpisodeStore):
    """Hides chosen change-feed entries, as if their transactions committed late."""

    hidden: set[int]

    def changes_since(self, namespace: str, seq: int, *, limit: int = 10_000) -> list[Change]:
        return [
            c
            for c in super().changes_since(namespace, seq, limit=limit)
            if c.seq not in self.hidden
        ]


def test_late_committed_changes_are_picked_up(sqlite_url: str, namespace: str) -> None:
    store = LateFeedStore(sqlite_url)
    store.hidden = set()
    config = MemoryConfig(
        database_url=sqlite_url, retrieval=RetrievalConfig(refresh_interval_seconds=0)
    )
    engine = RetrievalEngine(config, store, namespace)
    rng = random.Random(0)
    try:
        assert engine.search_episodes("anything", TaskContext(), 5, EpisodeFilters()) == []
        late = make_episode(FAMILIES[0], rng, description="Rotate JWT refresh tokens")
        early = make_episode(FAMILIES[1], rng, description="Import CSV files into the warehouse")
        for episode in (late, early):
            store.write(namespace, WriteBatch(new_episodes=[episode]))
            store.write(namespace, WriteBatch(completed=[episode]))
        late_seq = store.last_change_seq(namespace) - 1
        store.hidden = {late_seq}

        def found(query: str) -> Sequence[UUID]:
            return [
                r.episode.episode_id
                for r in engine.search_episodes(query, TaskContext(), 5, EpisodeFilters())
            ]

        assert found("CSV warehouse import") == [early.episode_id]
        assert found("JWT refresh tokens") == []
        store.hidden = set()  # the late transaction commits
        assert found("JWT refresh tokens") == [late.episode_id]
        assert found("JWT refresh tokens") == [late.episode_id]  # applied once, still there
    finally:
        engine.close()
        store.close()


def test_pattern_changes_from_other_writers_are_seen(sqlite_url: str, namespace: str) -> None:
    store = SQLAlchemyEpisodeStore(sqlite_url)
    config = MemoryConfig(
        database_url=sqlite_url,
        retrieval=RetrievalConfig(refresh_interval_seconds=0, record_retrievals=False),
    )
    engine = RetrievalEngine(config, store, namespace)
    context = TaskContext(language="python")
    try:
        assert engine.search_patterns(context, None, 5) == []
        first = ToolSequence(tools=["pytest"], success_rate=0.5, context=context)
        store.merge_patterns(namespace, None, [first], lambda new, stored: None)
        assert [r.pattern.pattern_id for r in engine.search_patterns(context, None, 5)] == [
            first.pattern_id
        ]
        better = first.model_copy(update={"success_rate": 1.0})
        store.update_patterns(namespace, [first.pattern_id], lambda p: better)
        assert engine.search_patterns(context, None, 5)[0].pattern.success_rate == 1.0
        store.delete_pattern(namespace, first.pattern_id)
        assert engine.search_patterns(context, None, 5) == []
        assert engine._index is None  # patterns alone never built the episode index
    finally:
        engine.close()
        store.close()
