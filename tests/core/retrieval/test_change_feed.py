"""The engine applies the change feed exactly once, including late-committed entries."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from uuid import UUID

from tests.support.corpus import FAMILIES, make_episode

from memory_core import (
    Heuristic,
    MemoryConfig,
    RetrievalConfig,
    SQLAlchemyEpisodeStore,
    TaskContext,
    ToolSequence,
)
from memory_core.retrieval import EpisodeFilters, RetrievalEngine
from memory_core.storage import Change, ChangeEntity
from memory_core.storage.base import WriteBatch


class LateFeedStore(SQLAlchemyEpisodeStore):
    """Hides chosen change-feed entries, as if their transactions committed late."""

    hidden: set[int]
    feed_in_commit_order = False  # entries can show up late here, as on PostgreSQL

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


def test_a_follower_behind_a_trimmed_feed_rebuilds(sqlite_url: str, namespace: str) -> None:
    follower_store = SQLAlchemyEpisodeStore(sqlite_url)
    writer = SQLAlchemyEpisodeStore(sqlite_url)  # another process, as far as the feed goes
    config = MemoryConfig(
        database_url=sqlite_url,
        retrieval=RetrievalConfig(refresh_interval_seconds=0, record_retrievals=False),
    )
    engine = RetrievalEngine(config, follower_store, namespace)
    rng = random.Random(1)
    topics = ["Rotate JWT refresh tokens", "Import CSV files", "Resize product images"]
    topics += ["Compile the LaTeX report", "Shard the Kafka topic"]
    episodes = [
        make_episode(FAMILIES[i % len(FAMILIES)], rng, description=topic)
        for i, topic in enumerate(topics)
    ]

    def found(query: str) -> list[UUID]:
        hits = engine.search_episodes(query, TaskContext(), 5, EpisodeFilters())
        return [r.episode.episode_id for r in hits if r.episode.task_description == query]

    try:
        for item in episodes[:4]:
            writer.write(namespace, WriteBatch(new_episodes=[item], completed=[item]))
        assert found(topics[0]) == [episodes[0].episode_id]  # the index is built
        engine.search_patterns(TaskContext(), None, 5)  # and patterns are followed
        writer.delete_episodes(namespace, [e.episode_id for e in episodes[:3]])
        writer.write(namespace, WriteBatch(new_episodes=[episodes[4]], completed=[episodes[4]]))
        writer.compact_changes(namespace, keep_deletions=1)  # two deletions are trimmed

        for gone in topics[:3]:
            assert found(gone) == []
        assert found(topics[3]) == [episodes[3].episode_id]
        assert found(topics[4]) == [episodes[4].episode_id]
        engine.search_patterns(TaskContext(), None, 5)
    finally:
        engine.close()
        writer.close()
        follower_store.close()


class RecordingStore(SQLAlchemyEpisodeStore):
    """Records what each change-feed read asked for and got."""

    reads: list[tuple[list[ChangeEntity] | None, list[Change]]]

    def changes_since(
        self,
        namespace: str,
        seq: int,
        *,
        limit: int = 10_000,
        entities: Collection[ChangeEntity] | None = None,
    ) -> list[Change]:
        found = super().changes_since(namespace, seq, limit=limit, entities=entities)
        self.reads.append((None if entities is None else list(entities), found))
        return found


def test_changes_since_keeps_the_entities_asked_for(sqlite_url: str, namespace: str) -> None:
    store = SQLAlchemyEpisodeStore(sqlite_url)
    rng = random.Random(2)
    try:
        episode = make_episode(FAMILIES[0], rng, description="Rotate JWT refresh tokens")
        store.write(namespace, WriteBatch(new_episodes=[episode], completed=[episode]))
        pattern = ToolSequence(tools=["pytest"], success_rate=0.5, context=TaskContext())
        store.merge_patterns(namespace, None, [pattern], lambda new, stored: None)
        rule = Heuristic(condition="when the test fails", action="read the log")
        store.merge_heuristics(namespace, [rule], lambda new, stored: None)
        everything = store.changes_since(namespace, 0)
        assert {c.entity for c in everything} == {"episode", "pattern", "heuristic"}
        episodes = store.changes_since(namespace, 0, entities=["episode"])
        assert episodes == [c for c in everything if c.entity == "episode"]
        assert store.changes_since(namespace, 0, entities=[]) == []
        store.delete_namespace(namespace)
        assert [c.entity for c in store.changes_since(namespace, 0, entities=[])] == [
            "namespace"
        ]  # a deletion is always there
    finally:
        store.close()


def test_a_feed_in_commit_order_is_read_for_what_the_view_follows(
    database_url: str, namespace: str
) -> None:
    store = RecordingStore(database_url)
    store.reads = []
    writer = SQLAlchemyEpisodeStore(database_url)  # another process, as far as the feed goes
    # SQLite admits one writer at a time; on PostgreSQL an entry can show up late
    in_order = store.dialect == "sqlite"
    assert store.feed_in_commit_order is in_order
    config = MemoryConfig(
        database_url=database_url,
        retrieval=RetrievalConfig(refresh_interval_seconds=0, record_retrievals=False),
    )
    engine = RetrievalEngine(config, store, namespace)
    rng = random.Random(3)
    context = TaskContext(language="python")

    def write_elsewhere(description: str, tool: str) -> UUID:
        episode = make_episode(FAMILIES[0], rng, description=description)
        writer.write(namespace, WriteBatch(new_episodes=[episode], completed=[episode]))
        pattern = ToolSequence(tools=[tool], success_rate=0.5, context=context)
        writer.merge_patterns(namespace, None, [pattern], lambda new, stored: None)
        rule = Heuristic(condition=f"when {tool} fails", action="read the log")
        writer.merge_heuristics(namespace, [rule], lambda new, stored: None)
        return episode.episode_id

    def found(query: str) -> list[UUID]:
        hits = engine.search_episodes(query, TaskContext(), 5, EpisodeFilters())
        return [r.episode.episode_id for r in hits if r.episode.task_description == query]

    try:
        first = write_elsewhere("Rotate JWT refresh tokens", "pytest")
        assert found("Rotate JWT refresh tokens") == [first]
        store.reads.clear()
        second = write_elsewhere("Import CSV files into the warehouse", "mypy")
        assert found("Import CSV files into the warehouse") == [second]
        if in_order:
            assert [asked for asked, _ in store.reads] == [["episode"]]  # no patterns yet
            assert {c.entity for _, got in store.reads for c in got} == {"episode"}
        else:  # every entry, so that a skipped number is known to be a late one
            assert [asked for asked, _ in store.reads] == [None]
            assert {c.entity for _, got in store.reads for c in got} == {
                "episode",
                "pattern",
                "heuristic",
            }

        assert len(engine.search_patterns(context, None, 5)) == 2  # now they are
        store.reads.clear()
        write_elsewhere("Resize product images", "ruff")
        tools = [
            getattr(r.pattern, "tools", None) for r in engine.search_patterns(context, None, 5)
        ]
        assert sorted(tools) == [["mypy"], ["pytest"], ["ruff"]]
        if in_order:
            assert [asked for asked, _ in store.reads] == [["episode", "pattern"]]
            assert {c.entity for _, got in store.reads for c in got} == {"episode", "pattern"}
        else:
            assert [asked for asked, _ in store.reads] == [None]
    finally:
        engine.close()
        writer.close()
        store.close()
