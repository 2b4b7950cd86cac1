"""`SQLAlchemyEpisodeStore` on a SQLite file and on PostgreSQL: the same tests for both."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text

from memory_core import (
    ContextPattern,
    DecisionPoint,
    Episode,
    ErrorRecovery,
    ExecutionStep,
    Heuristic,
    OutcomeStats,
    Pattern,
    SQLAlchemyEpisodeStore,
    StorageError,
    TaskContext,
    TaskOutcome,
    TaskType,
    ToolSequence,
)
from memory_core.storage import (
    CountingStore,
    EpisodeQuery,
    EpisodeStore,
    WriteBatch,
    normalize_database_url,
)

Factory = Callable[..., Episode]


def _insert_new(p: Pattern, group: Sequence[Pattern]) -> Pattern | None:
    return None


def _merge_same_tools(p: Pattern, group: Sequence[Pattern]) -> Pattern | None:
    for stored in group:
        same_kind = isinstance(p, ToolSequence) and isinstance(stored, ToolSequence)
        if same_kind and stored.tools == p.tools:  # type: ignore[union-attr]
            return stored.model_copy(
                update={"occurrence_count": stored.occurrence_count + p.occurrence_count}
            )
    return None


def test_is_an_episode_store(store: SQLAlchemyEpisodeStore) -> None:
    assert isinstance(store, EpisodeStore)
    assert store.schema_version >= 1


def test_complete_episode_round_trips_exactly(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_factory: Factory
) -> None:
    episode = episode_factory(
        "round trip ✓", steps=4, outcome=TaskOutcome.partial_success("v", ["a"], ["b"])
    )
    store.write(namespace, WriteBatch(new_episodes=[episode]))
    back = store.get_episode(namespace, episode.episode_id)
    assert back == episode
    assert back is not None
    assert back.model_dump_json() == episode.model_dump_json()
    assert store.get_episodes(namespace, [episode.episode_id, uuid4()]) == [episode]


def test_in_flight_episode_grows_step_by_step_then_completes(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_factory: Factory
) -> None:
    full = episode_factory(steps=5, outcome=TaskOutcome.failure("no", error_details="trace"))
    header = full.model_copy(
        update={
            "steps": [],
            "outcome": None,
            "end_time": None,
            "reward": None,
            "reflection": None,
            "token_usage": None,
            "pattern_ids": [],
            "retrieved_pattern_ids": [],
        }
    )
    store.write(namespace, WriteBatch(new_episodes=[header]))
    store.write(namespace, WriteBatch(steps=[(full.episode_id, s) for s in full.steps[:2]]))
    running = store.get_episode(namespace, full.episode_id)
    assert running is not None
    assert running.steps == full.steps[:2]
    assert not running.is_complete
    assert store.count_episodes(namespace, completed=False) == 1
    # Completion stores the final state and inserts only the steps not yet stored.
    store.write(namespace, WriteBatch(completed=[full]))
    assert store.get_episode(namespace, full.episode_id) == full
    assert store.count_episodes(namespace, completed=True) == 1
    assert store.count_episodes(namespace, completed=False) == 0
    assert store.unlearned_episode_ids(namespace) == [full.episode_id]


def test_completing_an_episode_never_seen_inserts_it(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_factory: Factory
) -> None:
    episode = episode_factory(steps=3, outcome=TaskOutcome.success("ok"))
    store.write(namespace, WriteBatch(completed=[episode]))
    assert store.get_episode(namespace, episode.episode_id) == episode


def test_steps_are_read_in_order_whatever_form_the_header_has(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_factory: Factory
) -> None:
    """Steps come back in step order from every read path, also for a stored header
    without the empty step list they are spliced into (then they are parsed apart)."""
    plain = episode_factory("plain", steps=12, outcome=TaskOutcome.success("ok"))
    bare = episode_factory("bare", steps=3, outcome=TaskOutcome.success("ok"))
    stepless = episode_factory("stepless", outcome=TaskOutcome.success("ok"))
    store.write(namespace, WriteBatch(completed=[plain, bare, stepless]))
    with store._engine.begin() as conn:  # a header written without its "steps" key
        data = conn.execute(
            text("SELECT data FROM mc_episodes WHERE namespace = :n AND episode_id = :i"),
            {"n": namespace, "i": str(bare.episode_id)},
        ).scalar_one()
        assert data.count('"steps":[],') == 1
        conn.execute(
            text("UPDATE mc_episodes SET data = :d WHERE namespace = :n AND episode_id = :i"),
            {"d": data.replace('"steps":[],', ""), "n": namespace, "i": str(bare.episode_id)},
        )
    expected = {e.episode_id: e for e in (plain, bare, stepless)}
    for episode in expected.values():
        assert store.get_episode(namespace, episode.episode_id) == episode
    found = store.get_episodes(namespace, list(expected))
    assert {e.episode_id: e for e in found} == expected
    listed = store.list_episodes(namespace, EpisodeQuery())
    assert {e.episode_id: e for e in listed} == expected
    exported = store.export_episodes(namespace)
    assert {e.episode_id: e for e, _ in exported} == expected


def test_a_failing_batch_changes_nothing(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_factory: Factory
) -> None:
    first = episode_factory(steps=1)
    store.write(namespace, WriteBatch(new_episodes=[first]))
    # a read in autocommit (PostgreSQL) first: the pooled connection it used must be back in
    # transactional mode for the write below
    assert store.get_episodes(namespace, [first.episode_id]) == [first]
    other = episode_factory("other")
    duplicate_step = (first.episode_id, first.steps[0])  # same (episode, step_number) again
    with pytest.raises(StorageError, match="database operation failed") as info:
        store.write(namespace, WriteBatch(new_episodes=[other], steps=[duplicate_step]))
    assert info.value.__cause__ is not None
    assert store.get_episode(namespace, other.episode_id) is None
    assert store.get_episode(namespace, first.episode_id) == first
    assert store.count_episodes(namespace) == 1


def test_steps_need_their_episode(store: SQLAlchemyEpisodeStore, namespace: str) -> None:
    orphan = ExecutionStep(step_number=1, tool="t", action="a")
    with pytest.raises(StorageError):
        store.write(namespace, WriteBatch(steps=[(uuid4(), orphan)]))


@pytest.fixture
def listed(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_factory: Factory
) -> list[Episode]:
    """Six episodes an hour apart (index = age order, 0 oldest) with varied fields."""
    specs = [
        ("web", TaskType.DEBUGGING, TaskOutcome.success("a"), 0.9),
        ("web", TaskType.TESTING, TaskOutcome.failure("b"), 0.1),
        ("cli", TaskType.DEBUGGING, TaskOutcome.success("c"), 1.5),
        ("cli", TaskType.ANALYSIS, TaskOutcome.abstained("d", 1), 0.5),
        ("web", TaskType.DEBUGGING, None, None),
        ("cli", TaskType.TESTING, TaskOutcome.partial_success("e", ["x"], ["y"]), 0.7),
    ]
    episodes = []
    for i, (domain, task_type, outcome, reward) in enumerate(specs):
        episodes.append(
            episode_factory(
                f"episode {i}",
                domain=domain,
                task_type=task_type,
                start=episode_factory().start_time + timedelta(hours=i),
                steps=i % 3 + 1,
                outcome=outcome,
                reward=reward,
            )
        )
    store.write(namespace, WriteBatch(new_episodes=episodes))
    return episodes


def _ids(episodes: list[Episode]) -> list[str]:
    return [e.task_description for e in episodes]


def test_list_is_newest_first_with_full_episodes(
    store: SQLAlchemyEpisodeStore, namespace: str, listed: list[Episode]
) -> None:
    found = store.list_episodes(namespace, EpisodeQuery())
    assert found == list(reversed(listed))  # equal models: steps and every field included


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (EpisodeQuery(domain="web"), [4, 1, 0]),
        (EpisodeQuery(domain="nowhere"), []),
        (EpisodeQuery(task_type=TaskType.DEBUGGING), [4, 2, 0]),
        (EpisodeQuery(outcome_kind="success"), [2, 0]),
        (EpisodeQuery(outcome_kind="abstained"), [3]),
        (EpisodeQuery(outcome_kind="partial_success"), [5]),
        (EpisodeQuery(completed=True), [5, 3, 2, 1, 0]),
        (EpisodeQuery(completed=False), [4]),
        (EpisodeQuery(min_reward=0.7), [5, 2, 0]),
        (EpisodeQuery(domain="cli", task_type=TaskType.DEBUGGING), [2]),
        (EpisodeQuery(limit=2), [5, 4]),
        (EpisodeQuery(limit=2, offset=2), [3, 2]),
        (EpisodeQuery(limit=None, offset=4), [1, 0]),
        (EpisodeQuery(limit=0), []),
    ],
)
def test_list_filters(
    store: SQLAlchemyEpisodeStore,
    namespace: str,
    listed: list[Episode],
    query: EpisodeQuery,
    expected: list[int],
) -> None:
    assert _ids(store.list_episodes(namespace, query)) == [f"episode {i}" for i in expected]


def test_list_time_window(
    store: SQLAlchemyEpisodeStore, namespace: str, listed: list[Episode]
) -> None:
    since, until = listed[1].start_time, listed[4].start_time  # since inclusive, until exclusive
    found = store.list_episodes(namespace, EpisodeQuery(since=since, until=until))
    assert _ids(found) == ["episode 3", "episode 2", "episode 1"]
    assert _ids(store.list_episodes(namespace, EpisodeQuery(since=listed[5].start_time))) == [
        "episode 5"
    ]


def test_delete_episode_removes_it_with_steps_and_links(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_factory: Factory
) -> None:
    keep = episode_factory("keep", steps=2, outcome=TaskOutcome.success("k"))
    gone = episode_factory("gone", steps=3, outcome=TaskOutcome.success("g"))
    store.write(namespace, WriteBatch(new_episodes=[keep, gone]))
    [pattern] = store.merge_patterns(
        namespace, gone.episode_id, [ToolSequence(tools=["a"], success_rate=1.0)], _insert_new
    )
    store.merge_patterns(namespace, keep.episode_id, [pattern], _merge_same_tools)
    assert set(store.pattern_episode_ids(namespace, pattern.pattern_id)) == {
        keep.episode_id,
        gone.episode_id,
    }
    seq = store.last_change_seq(namespace)
    assert store.delete_episode(namespace, gone.episode_id) is True
    assert store.get_episode(namespace, gone.episode_id) is None
    assert store.delete_episode(namespace, gone.episode_id) is False
    assert store.get_episode(namespace, keep.episode_id) == keep
    assert store.pattern_episode_ids(namespace, pattern.pattern_id) == [keep.episode_id]
    assert store.get_pattern(namespace, pattern.pattern_id) is not None  # patterns stay
    changes = store.changes_since(namespace, seq)
    assert [(c.entity, c.entity_id, c.op) for c in changes] == [
        ("episode", gone.episode_id, "delete")
    ]
    with store._engine.connect() as conn:  # no orphaned step rows
        left = conn.execute(
            text("SELECT count(*) FROM mc_steps WHERE namespace = :ns AND episode_id = :id"),
            {"ns": namespace, "id": str(gone.episode_id)},
        ).scalar()
    assert left == 0


def _patterns() -> list[Pattern]:
    ctx = TaskContext(language="rust", domain="web", tags=["io"])
    return [
        ToolSequence(
            tools=["grep", "edit", "test"], success_rate=0.8, avg_latency_ms=2.5, context=ctx
        ),
        DecisionPoint(
            condition="if tests fail",
            action="read the log",
            outcome_stats=OutcomeStats(success_count=2, failure_count=1, total_count=3),
            context=ctx,
        ),
        ErrorRecovery(
            error_type="timeout", recovery_steps=["retry"], success_rate=0.5, context=ctx
        ),
        ContextPattern(
            context_features=["lang:rust"], recommended_approach="small steps", success_rate=1.0
        ),
    ]


def test_patterns_round_trip_and_link_to_episodes(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_factory: Factory
) -> None:
    episode = episode_factory(outcome=TaskOutcome.success("ok"))
    store.write(namespace, WriteBatch(new_episodes=[episode]))
    patterns = _patterns()
    stored = store.merge_patterns(namespace, episode.episode_id, patterns, _insert_new)
    assert stored == patterns
    for pattern in patterns:
        assert store.get_pattern(namespace, pattern.pattern_id) == pattern
        assert store.pattern_episode_ids(namespace, pattern.pattern_id) == [episode.episode_id]
    assert sorted(
        store.get_patterns(namespace, [p.pattern_id for p in patterns]), key=lambda p: p.kind
    ) == sorted(patterns, key=lambda p: p.kind)
    assert {p.kind for p in store.list_patterns(namespace)} == {
        "tool_sequence",
        "decision_point",
        "error_recovery",
        "context_pattern",
    }
    assert store.list_patterns(namespace, kind="error_recovery") == [patterns[2]]
    assert len(store.list_patterns(namespace, domain="web")) == 3
    assert len(store.list_patterns(namespace, limit=2)) == 2

    store.mark_learned(namespace, episode.episode_id, [p.pattern_id for p in patterns])
    learned = store.get_episode(namespace, episode.episode_id)
    assert learned is not None
    assert learned.pattern_ids == [*episode.pattern_ids, *(p.pattern_id for p in patterns)]
    assert store.unlearned_episode_ids(namespace) == []


def test_counts_agree_with_the_listings_namespace_by_namespace(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_factory: Factory
) -> None:
    assert isinstance(store, CountingStore)
    other = namespace + "-other"
    done = [episode_factory(outcome=TaskOutcome.success("ok")) for _ in range(3)]
    running = episode_factory()
    store.write(namespace, WriteBatch(new_episodes=[*done, running]))
    store.write(
        other, WriteBatch(new_episodes=[episode_factory(outcome=TaskOutcome.success("ok"))])
    )
    patterns = _patterns()
    store.merge_patterns(namespace, done[0].episode_id, patterns, _insert_new)
    store.merge_heuristics(namespace, [Heuristic(condition="c", action="a")], lambda h, g: None)
    store.mark_learned(namespace, done[0].episode_id, [p.pattern_id for p in patterns])

    def counts(ns: str) -> tuple[int, int, int]:
        return store.count_unlearned(ns), store.count_patterns(ns), store.count_heuristics(ns)

    def listed(ns: str) -> tuple[int, int, int]:
        return (
            len(store.unlearned_episode_ids(ns)),
            len(store.list_patterns(ns)),
            len(store.list_heuristics(ns)),
        )

    assert counts(namespace) == listed(namespace) == (2, len(patterns), 1)
    assert counts(other) == listed(other) == (1, 0, 0)
    store.mark_unlearned(namespace)
    assert counts(namespace) == listed(namespace) == (3, len(patterns), 1)


def test_merging_updates_the_stored_pattern(store: SQLAlchemyEpisodeStore, namespace: str) -> None:
    first = ToolSequence(tools=["a", "b"], success_rate=1.0)
    [stored] = store.merge_patterns(namespace, None, [first], _merge_same_tools)
    again = ToolSequence(tools=["a", "b"], success_rate=1.0, occurrence_count=2)
    [merged] = store.merge_patterns(namespace, None, [again], _merge_same_tools)
    assert merged.pattern_id == stored.pattern_id
    assert merged.occurrence_count == 3
    assert store.list_patterns(namespace) == [merged]

    def bump(p: Pattern) -> Pattern:
        return p.model_copy(update={"occurrence_count": p.occurrence_count + 10})

    [updated] = store.update_patterns(namespace, [merged.pattern_id, uuid4()], bump)
    assert updated.occurrence_count == 13
    assert store.get_pattern(namespace, merged.pattern_id) == updated
    assert store.delete_pattern(namespace, merged.pattern_id) is True
    assert store.delete_pattern(namespace, merged.pattern_id) is False
    assert store.list_patterns(namespace) == []


def test_list_patterns_is_most_recently_updated_first(
    store: SQLAlchemyEpisodeStore, namespace: str
) -> None:
    older = ToolSequence(tools=["old"], success_rate=1.0)
    newer = ToolSequence(
        tools=["new"], success_rate=1.0, updated_at=older.updated_at + timedelta(seconds=1)
    )
    store.merge_patterns(namespace, None, [older, newer], _insert_new)
    assert [p.tools for p in store.list_patterns(namespace)] == [["new"], ["old"]]  # type: ignore[union-attr]


def test_heuristics_round_trip(store: SQLAlchemyEpisodeStore, namespace: str) -> None:
    heuristic = Heuristic(
        condition="when flaky", action="rerun once", success_count=3, sample_size=4
    )
    assert store.merge_heuristics(namespace, [heuristic], lambda h, g: None) == [heuristic]
    assert store.list_heuristics(namespace) == [heuristic]


def test_change_feed_records_writes_in_order(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_factory: Factory
) -> None:
    start = store.last_change_seq(namespace)
    episode = episode_factory(outcome=TaskOutcome.success("ok"))
    store.write(namespace, WriteBatch(completed=[episode]))
    [pattern] = store.merge_patterns(
        namespace, episode.episode_id, [ToolSequence(tools=["x"], success_rate=1.0)], _insert_new
    )
    changes = store.changes_since(namespace, start)
    assert [(c.entity, c.entity_id, c.op) for c in changes] == [
        ("episode", episode.episode_id, "upsert"),
        ("pattern", pattern.pattern_id, "upsert"),
    ]
    assert [c.seq for c in changes] == sorted(c.seq for c in changes)
    assert store.last_change_seq(namespace) == changes[-1].seq


def test_namespaces_are_isolated_in_the_store(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_factory: Factory
) -> None:
    other = namespace + "-other"
    episode = episode_factory(steps=2, outcome=TaskOutcome.success("ok"))
    store.write(namespace, WriteBatch(new_episodes=[episode]))
    [pattern] = store.merge_patterns(
        namespace, episode.episode_id, [ToolSequence(tools=["x"], success_rate=1.0)], _insert_new
    )
    # The same ids may exist in another namespace without clashing.
    store.write(
        other, WriteBatch(new_episodes=[episode.model_copy(update={"task_description": "b"})])
    )
    assert store.get_episode(namespace, episode.episode_id) == episode
    assert store.get_episode(other, episode.episode_id).task_description == "b"  # type: ignore[union-attr]
    assert store.get_pattern(other, pattern.pattern_id) is None
    assert store.list_patterns(other) == []
    assert store.pattern_episode_ids(other, pattern.pattern_id) == []
    assert store.delete_pattern(other, pattern.pattern_id) is False
    assert store.delete_episode(other, episode.episode_id) is True
    assert store.get_episode(namespace, episode.episode_id) == episode
    assert store.count_episodes(other) == 0
    assert store.changes_since(other, 0)[-1].op == "delete"
    assert all(c.entity_id != pattern.pattern_id for c in store.changes_since(other, 0))


def test_reopening_keeps_data_and_schema(
    database_url: str, namespace: str, episode_factory: Factory
) -> None:
    episode = episode_factory(steps=2)
    first = SQLAlchemyEpisodeStore(database_url)
    first.write(namespace, WriteBatch(new_episodes=[episode]))
    version = first.schema_version
    first.close()
    second = SQLAlchemyEpisodeStore(database_url)
    try:
        assert second.schema_version == version
        assert second.get_episode(namespace, episode.episode_id) == episode
    finally:
        second.close()


def test_a_newer_schema_is_refused(sqlite_url: str) -> None:
    store = SQLAlchemyEpisodeStore(sqlite_url)
    with store._engine.begin() as conn:
        conn.execute(text("UPDATE mc_schema_version SET version = 999"))
    store.close()
    with pytest.raises(StorageError, match="upgrade memory-core"):
        SQLAlchemyEpisodeStore(sqlite_url)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    store = SQLAlchemyEpisodeStore(sqlite_url)
    try:
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()


def test_in_memory_sqlite_works(namespace: str, episode_factory: Factory) -> None:
    store = SQLAlchemyEpisodeStore("sqlite:///:memory:")
    episode = episode_factory(steps=1)
    store.write(namespace, WriteBatch(new_episodes=[episode]))
    assert store.get_episode(namespace, episode.episode_id) == episode
    store.close()


def test_database_urls_are_normalised() -> None:
    assert normalize_database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_database_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_storage_errors_hide_the_password() -> None:
    with pytest.raises(StorageError) as info:
        SQLAlchemyEpisodeStore("postgresql://someone:s3cret@127.0.0.1:1/none")
    assert "s3cret" not in str(info.value)
    assert "***" in str(info.value)


def test_unknown_ids_read_as_absent(store: SQLAlchemyEpisodeStore, namespace: str) -> None:
    missing = UUID(int=1)
    assert store.get_episode(namespace, missing) is None
    assert store.get_episodes(namespace, [missing]) == []
    assert store.delete_episode(namespace, missing) is False
    assert store.get_pattern(namespace, missing) is None
    assert store.update_patterns(namespace, [missing], lambda p: p) == []
    store.mark_learned(namespace, missing, [])  # a no-op, not an error
