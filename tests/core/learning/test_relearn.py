"""``relearn``: extraction runs again over stored episodes, idempotently, on both databases.

The store links every pattern and heuristic to each episode it was learned from (uncapped,
unlike the evidence lists), so learning an episode again never counts it twice, however many
episodes stand behind a pattern.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import create_engine, text

from memory_core import (
    DecisionPoint,
    Episode,
    EpisodeNotFoundError,
    ExecutionResult,
    ExecutionStep,
    Heuristic,
    InvalidInputError,
    LearningConfig,
    MemoryConfig,
    OutcomeStats,
    Pattern,
    RelearnReport,
    SelfLearningMemory,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    hookimpl,
)
from memory_core.learning import similarity_key
from memory_core.models import MAX_EVIDENCE
from memory_core.storage import WriteBatch
from memory_core.storage._schema import SCHEMA_VERSION

CONTEXT = TaskContext(language="python", domain="web-api", tags=["auth"])
STEPS = (
    ("pytest", "check if the login test fails", True),
    ("editor", "fix the token check", True),
    ("pytest", "run the suite", True),
)


def _config(url: str) -> MemoryConfig:
    """Learning inside complete_episode, so every test sees a settled state."""
    return MemoryConfig(
        database_url=url, load_plugins=False, learning=LearningConfig(background=False)
    )


@pytest.fixture
def open_memory(database_url: str, namespace: str) -> Iterator[Callable[..., Any]]:
    """Open (and close at teardown) blocking memories on the test database and namespace."""
    opened: list[SyncSelfLearningMemory] = []

    def make(*plugins: object) -> SyncSelfLearningMemory:
        memory = SyncSelfLearningMemory(_config(database_url), namespace=namespace, plugins=plugins)
        opened.append(memory)
        return memory

    yield make
    for memory in opened:
        memory.close()


def _run(memory: SyncSelfLearningMemory, description: str = "fix the login test") -> UUID:
    episode_id = memory.start_episode(description, CONTEXT, "debugging")
    for tool, action, ok in STEPS:
        result = ExecutionResult.success("ok") if ok else ExecutionResult.error("boom")
        memory.log_step(episode_id, ExecutionStep(tool=tool, action=action, result=result))
    memory.complete_episode(episode_id, TaskOutcome.success("the test passes"))
    return episode_id


def _state(memory: SyncSelfLearningMemory) -> tuple[dict[UUID, Pattern], dict[UUID, Heuristic]]:
    """Every pattern and heuristic of the namespace, exactly as stored."""
    patterns = {p.pattern_id: p for p in memory.list_patterns(limit=None)}
    heuristics = {h.heuristic_id: h for h in memory.list_heuristics(limit=None)}
    return patterns, heuristics


def _by_key(patterns: dict[UUID, Pattern]) -> dict[tuple[str, str], Pattern]:
    return {(p.kind, similarity_key(p)): p for p in patterns.values()}


def _tool_sequence(memory: SyncSelfLearningMemory) -> Pattern:
    (pattern,) = memory.list_patterns(kind="tool_sequence")
    return pattern


def _unchanged(report: RelearnReport) -> bool:
    return (
        report.patterns_created,
        report.patterns_updated,
        report.heuristics_created,
        report.heuristics_updated,
    ) == (0, 0, 0, 0)


# ---------------------------------------------------------------- idempotency


def test_relearning_twice_changes_nothing_beyond_the_evidence_cap(
    open_memory: Callable[..., SyncSelfLearningMemory],
) -> None:
    memory = open_memory()
    count = MAX_EVIDENCE + 10
    for index in range(count):
        _run(memory, f"fix the login test {index}")
    sequence = _tool_sequence(memory)
    assert sequence.occurrence_count == count
    assert len(sequence.evidence) == MAX_EVIDENCE  # the oldest ten are not in the evidence
    (heuristic,) = [h for h in memory.list_heuristics(limit=None) if "check if" in h.condition]
    assert heuristic.sample_size == count
    before = _state(memory)

    first = memory.relearn()
    assert (first.episodes_total, first.episodes_learned, first.episodes_failed) == (
        count,
        count,
        0,
    )
    assert _unchanged(first)
    assert (first.patterns_before, first.patterns_after) == (len(before[0]), len(before[0]))
    assert _state(memory) == before

    second = memory.relearn()
    assert _unchanged(second)
    assert _state(memory) == before
    assert memory.engine.store.unlearned_episode_ids(memory.namespace) == []


def test_learning_an_episode_again_is_not_counted(
    open_memory: Callable[..., SyncSelfLearningMemory],
) -> None:
    """The same guarantee at the level of one episode, e.g. re-queued after a crash."""
    memory = open_memory()
    first = _run(memory)
    _run(memory)
    before = _state(memory)
    report = memory.relearn(episode_ids=[first, first])
    assert (report.episodes_total, report.episodes_learned) == (1, 1)
    assert _unchanged(report)
    assert _state(memory) == before


def test_a_failure_counts_against_rules_by_time_not_by_learning_order(
    open_memory: Callable[..., SyncSelfLearningMemory],
) -> None:
    """A failed episode counts against a rule only if the rule was learned before it ended,
    so learning it again (after the rule exists) decides the same way."""
    memory = open_memory()

    def fail(description: str) -> None:
        episode_id = memory.start_episode(description, CONTEXT, "debugging")
        for tool, action, _ in STEPS:
            memory.log_step(
                episode_id, {"tool": tool, "action": action, "result": {"kind": "success"}}
            )
        memory.complete_episode(episode_id, TaskOutcome.failure("the fix did not hold"))

    def rule() -> Heuristic:
        (found,) = [h for h in memory.list_heuristics(limit=None) if "check if" in h.condition]
        return found

    fail("before the rule existed")
    _run(memory, "first success")
    _run(memory, "second success")
    assert (rule().sample_size, rule().success_count) == (2, 2)
    assert _unchanged(memory.relearn())
    fail("after the rule existed")
    assert (rule().sample_size, rule().success_count) == (3, 2)
    before = _state(memory)
    assert _unchanged(memory.relearn())
    assert _state(memory) == before
    memory.relearn(rebuild=True)
    assert (rule().sample_size, rule().success_count) == (3, 2)


# ----------------------------------------------------------------- new extractor


class StepCountExtractor:
    """A plugin extractor: one decision point per episode about its number of steps."""

    name = "test.step-count"

    def extract(self, episode: Episode, config: LearningConfig) -> list[Pattern]:
        return [
            DecisionPoint(
                condition=f"the task takes {len(episode.steps)} steps",
                action="plan the steps before starting",
                context=episode.context,
                evidence=[episode.episode_id],
                outcome_stats=OutcomeStats(success_count=1, failure_count=0, total_count=1),
            )
        ]


class StepCountPlugin:
    """Registers `StepCountExtractor` (an inline plugin, like an installed one)."""

    @hookimpl
    def register_pattern_extractors(self, register: Callable[[Any], None]) -> None:
        register(StepCountExtractor())


def _plugin_patterns(memory: SyncSelfLearningMemory) -> list[Pattern]:
    return [
        p
        for p in memory.list_patterns(kind="decision_point", limit=None)
        if isinstance(p, DecisionPoint) and p.condition.startswith("the task takes")
    ]


def test_after_installing_an_extractor_relearn_adds_its_patterns_once(
    open_memory: Callable[..., SyncSelfLearningMemory],
) -> None:
    plain = open_memory()
    ids = [_run(plain, f"task {index}") for index in range(5)]
    built_in = _state(plain)
    plain.close()

    memory = open_memory(StepCountPlugin())
    assert _plugin_patterns(memory) == []
    partial = memory.relearn(episode_ids=ids[:2])
    assert (partial.patterns_created, partial.patterns_updated) == (1, 0)
    [found] = _plugin_patterns(memory)
    assert found.occurrence_count == 2

    everything = memory.relearn()
    assert (everything.patterns_created, everything.patterns_updated) == (0, 1)
    [found] = _plugin_patterns(memory)
    assert found.occurrence_count == 5  # the first two were not counted again
    assert set(found.evidence) == set(ids)
    patterns, heuristics = _state(memory)
    assert heuristics == built_in[1]
    assert {k: p for k, p in patterns.items() if k != found.pattern_id} == built_in[0]
    assert all(found.pattern_id in e.pattern_ids for e in memory.list_episodes(limit=None))

    again = memory.relearn()
    assert _unchanged(again)
    assert _state(memory) == (patterns, heuristics)


# ---------------------------------------------------------------------- rebuild


def test_rebuild_learns_everything_again_and_keeps_effectiveness(
    open_memory: Callable[..., SyncSelfLearningMemory],
) -> None:
    memory = open_memory()
    for index in range(4):
        _run(memory, f"task {index}")
    sequence = _tool_sequence(memory)
    memory.record_pattern_application(sequence.pattern_id, None, helped=True, reward_delta=0.25)
    patterns, heuristics = _state(memory)
    kept = _by_key(patterns)[("tool_sequence", similarity_key(sequence))].effectiveness
    assert kept.times_applied == 1

    report = memory.relearn(rebuild=True)
    assert report.rebuild
    assert (report.episodes_total, report.episodes_learned) == (4, 4)
    assert (report.patterns_deleted, report.heuristics_deleted) == (len(patterns), len(heuristics))
    assert report.patterns_created == report.patterns_after == len(patterns)
    assert report.heuristics_created == report.heuristics_after == len(heuristics)
    assert report.patterns_updated == report.heuristics_updated == 0

    rebuilt, rebuilt_heuristics = _state(memory)
    assert set(rebuilt) == set(patterns)  # pattern ids derive from what they were learned from
    assert {k: p.model_copy(update={"effectiveness": None}) for k, p in rebuilt.items()} == {
        k: p.model_copy(update={"effectiveness": None}) for k, p in patterns.items()
    }  # the same patterns as learning the episodes one by one
    assert rebuilt[sequence.pattern_id].effectiveness == kept
    assert memory.get_pattern(sequence.pattern_id) == rebuilt[sequence.pattern_id]
    assert {
        k: h.model_copy(update={"created_at": None}) for k, h in rebuilt_heuristics.items()
    } == {k: h.model_copy(update={"created_at": None}) for k, h in heuristics.items()}
    for episode in memory.list_episodes(limit=None):
        assert episode.pattern_ids
        assert set(episode.pattern_ids) <= set(rebuilt)  # no ids of deleted patterns
    assert memory.engine.store.unlearned_episode_ids(memory.namespace) == []

    again = memory.relearn()
    assert _unchanged(again)
    assert _state(memory) == (rebuilt, rebuilt_heuristics)


def test_an_interrupted_rebuild_finishes_on_the_next_open(
    open_memory: Callable[..., SyncSelfLearningMemory],
) -> None:
    memory = open_memory()
    for index in range(3):
        _run(memory, f"task {index}")
    before = {k: p.occurrence_count for k, p in _by_key(_state(memory)[0]).items()}
    store, namespace = memory.engine.store, memory.namespace
    # What a rebuild does before learning anything, then the process dies.
    assert store.mark_unlearned(namespace) == 3
    store.delete_patterns(namespace)
    store.delete_heuristics(namespace)
    memory.close()

    reopened = open_memory()  # resumes the unlearned episodes
    after = {k: p.occurrence_count for k, p in _by_key(_state(reopened)[0]).items()}
    assert after == before
    assert reopened.engine.store.unlearned_episode_ids(namespace) == []


# -------------------------------------------------------------------- pending


def test_pending_only_learns_the_unlearned_and_counts_applications_once(
    open_memory: Callable[..., SyncSelfLearningMemory], build: Callable[..., Episode]
) -> None:
    memory = open_memory()
    _run(memory)
    sequence = _tool_sequence(memory)
    # A completed episode whose learning never ran (the process died right after storing it).
    pending = build(STEPS, context=CONTEXT).model_copy(
        update={"retrieved_pattern_ids": [sequence.pattern_id]}
    )
    memory.engine.store.write(memory.namespace, WriteBatch(completed=[pending]))

    calls: list[tuple[int, int]] = []
    report = memory.relearn(pending_only=True, progress=lambda *call: calls.append(call))
    assert (report.episodes_total, report.episodes_learned) == (1, 1)
    assert calls == [(0, 1), (1, 1)]
    assert report.patterns_updated >= 1
    assert report.patterns_created == 0
    learned = _tool_sequence(memory)
    assert learned.occurrence_count == 2
    assert learned.effectiveness.times_applied == 1  # it had retrieved the pattern
    assert memory.engine.store.unlearned_episode_ids(memory.namespace) == []

    assert memory.relearn(pending_only=True).episodes_total == 0
    everything = memory.relearn()
    assert _unchanged(everything)
    assert _tool_sequence(memory) == learned  # neither counted nor applied again


def test_progress_covers_every_episode(open_memory: Callable[..., SyncSelfLearningMemory]) -> None:
    memory = open_memory()
    for index in range(3):
        _run(memory, f"task {index}")
    in_flight = memory.start_episode("still running", CONTEXT)  # not learned from
    calls: list[tuple[int, int]] = []
    report = memory.relearn(progress=lambda *call: calls.append(call))
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert report.episodes_total == 3
    memory.complete_episode(in_flight, TaskOutcome.success("done"))


# --------------------------------------------------------------------- errors


def test_bad_options_change_nothing(open_memory: Callable[..., SyncSelfLearningMemory]) -> None:
    memory = open_memory()
    done = _run(memory)
    in_flight = memory.start_episode("still running", CONTEXT)
    memory.flush()
    before = _state(memory)
    with pytest.raises(InvalidInputError, match="cannot be combined"):
        memory.relearn(rebuild=True, pending_only=True)
    with pytest.raises(InvalidInputError, match="cannot be combined"):
        memory.relearn(rebuild=True, episode_ids=[done])
    with pytest.raises(InvalidInputError, match="cannot be combined"):
        memory.relearn(pending_only=True, episode_ids=[done])
    missing = uuid4()
    with pytest.raises(EpisodeNotFoundError, match=str(missing)):
        memory.relearn(episode_ids=[done, missing])
    with pytest.raises(InvalidInputError, match="still in progress"):
        memory.relearn(episode_ids=[done, in_flight])
    with pytest.raises(InvalidInputError, match="batch_size"):
        memory.relearn(batch_size=0)
    assert _state(memory) == before


def test_a_failing_episode_is_counted_and_the_rest_learned(
    open_memory: Callable[..., SyncSelfLearningMemory],
) -> None:
    memory = open_memory()
    ids = [_run(memory, f"task {index}") for index in range(3)]
    store = memory.engine.store
    original = store.merge_patterns

    def flaky(namespace: str, episode_id: UUID | None, *args: Any) -> list[Pattern]:
        if episode_id == ids[1]:
            raise RuntimeError("database went away")
        return original(namespace, episode_id, *args)

    store.merge_patterns = flaky  # type: ignore[method-assign]
    report = memory.relearn()
    assert (report.episodes_total, report.episodes_learned, report.episodes_failed) == (3, 2, 1)


# ---------------------------------------------------------------- async facade


async def test_the_async_facade_relearns(sqlite_url: str, namespace: str) -> None:
    with SyncSelfLearningMemory(_config(sqlite_url), namespace=namespace) as writer:
        _run(writer)
    async with SelfLearningMemory(
        _config(sqlite_url), namespace=namespace, plugins=[StepCountPlugin()]
    ) as memory:
        report = await memory.relearn()
        assert (report.episodes_learned, report.patterns_created) == (1, 1)
        again = await memory.relearn(rebuild=True)
        assert again.patterns_deleted == again.patterns_created == report.patterns_after


# ------------------------------------------------------------- store and schema


def test_store_deletes_and_unmarks_only_what_it_is_asked(
    database_url: str, namespace: str, build: Callable[..., Episode]
) -> None:
    store = SQLAlchemyEpisodeStore(database_url)
    other = f"{namespace}-other"
    try:
        episode = build(STEPS, context=CONTEXT)
        for ns in (namespace, other):
            store.write(ns, WriteBatch(completed=[episode]))
            store.merge_patterns(
                ns,
                episode.episode_id,
                [DecisionPoint(condition=f"c{i}", action="a") for i in range(3)],
                lambda new, stored: None,
            )
            store.merge_heuristics(
                ns,
                [Heuristic(condition=f"c{i}", action="a") for i in range(2)],
                lambda new, stored: None,
                episode_id=episode.episode_id,
            )
            store.mark_learned(ns, episode.episode_id, [])
        first = store.list_patterns(namespace)[0]
        assert store.delete_patterns(namespace, [first.pattern_id, uuid4()]) == 1
        assert store.delete_patterns(namespace) == 2
        assert store.delete_patterns(namespace) == 0
        assert store.pattern_links(namespace) == []
        assert store.delete_heuristics(namespace) == 2
        assert store.list_heuristics(namespace) == []
        assert store.mark_unlearned(namespace, [uuid4()]) == 0
        assert store.mark_unlearned(namespace, [episode.episode_id]) == 1
        assert store.unlearned_episode_ids(namespace) == [episode.episode_id]
        # the other namespace is untouched
        assert len(store.list_patterns(other)) == 3
        assert len(store.pattern_links(other)) == 3
        assert len(store.list_heuristics(other)) == 2
        assert store.unlearned_episode_ids(other) == []
    finally:
        store.close()


def _count_again(new: Any, stored: Any) -> Any:
    """A merge that ignores evidence: it always adds the new finding to the first match."""
    if not stored:
        return None
    match = stored[0]
    if isinstance(match, Heuristic):
        return match.model_copy(update={"sample_size": match.sample_size + 1})
    return match.model_copy(update={"occurrence_count": match.occurrence_count + 1})


def test_the_store_never_merges_twice_into_what_an_episode_is_linked_to(
    database_url: str, namespace: str, build: Callable[..., Episode]
) -> None:
    store = SQLAlchemyEpisodeStore(database_url)
    try:
        first, second, imported = (build(STEPS, context=CONTEXT) for _ in range(3))
        store.write(namespace, WriteBatch(completed=[first, second]))
        finding = DecisionPoint(condition="c", action="a", context=CONTEXT)
        store.merge_patterns(namespace, first.episode_id, [finding], _count_again)
        store.merge_patterns(namespace, second.episode_id, [finding], _count_again)
        for episode in (first, second, first, second):  # learned again
            [stored] = store.merge_patterns(namespace, episode.episode_id, [finding], _count_again)
            assert stored.occurrence_count == 2

        rule = Heuristic(condition="c", action="a", sample_size=1, success_count=1)
        store.merge_heuristics(namespace, [rule], _count_again, episode_id=first.episode_id)
        store.merge_heuristics(namespace, [rule], _count_again, episode_id=second.episode_id)
        [stored_rule] = store.merge_heuristics(
            namespace, [rule], _count_again, episode_id=first.episode_id
        )
        assert stored_rule.sample_size == 2

        # Imported heuristics are linked to their evidence episodes.
        other = f"{namespace}-import"
        store.import_records(
            other,
            [(imported, True)],
            heuristics=[rule.model_copy(update={"evidence": [imported.episode_id]})],
        )
        [kept] = store.merge_heuristics(other, [rule], _count_again, episode_id=imported.episode_id)
        assert kept.sample_size == rule.sample_size
    finally:
        store.close()


def test_upgrading_a_schema_1_database_links_heuristics_to_every_episode(
    sqlite_url: str, namespace: str
) -> None:
    count = MAX_EVIDENCE + 5
    with SyncSelfLearningMemory(_config(sqlite_url), namespace=namespace) as memory:
        for index in range(count):
            _run(memory, f"task {index}")
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:  # what a schema 1 database looks like
        conn.execute(text("DROP TABLE mc_heuristic_episodes"))
        conn.execute(text("UPDATE mc_schema_version SET version = 1"))
    with SyncSelfLearningMemory(_config(sqlite_url), namespace=namespace) as memory:
        assert memory.engine.store.schema_version == SCHEMA_VERSION  # type: ignore[attr-defined]
        before = _state(memory)
        (heuristic,) = [h for h in before[1].values() if "check if" in h.condition]
        assert len(heuristic.evidence) == MAX_EVIDENCE
        with engine.connect() as conn:
            links = conn.execute(
                text("SELECT count(*) FROM mc_heuristic_episodes WHERE heuristic_id = :id"),
                {"id": str(heuristic.heuristic_id)},
            ).scalar()
        assert links == count  # from the episodes' heuristic_ids, beyond the evidence cap
        assert _unchanged(memory.relearn())
        assert _state(memory) == before
    engine.dispose()
