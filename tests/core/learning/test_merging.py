"""Write-time merging: equal and near-duplicate patterns fold into one stored pattern."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from uuid import UUID, uuid4

import pytest

from memory_core import (
    DecisionPoint,
    Episode,
    ErrorRecovery,
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    OutcomeStats,
    Pattern,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
    ToolSequence,
)
from memory_core.learning import PatternMerger, merge_into, pattern_similarity, similarity_key
from memory_core.learning.merging import find_match, lists_episode, merge_evidence
from memory_core.models import MAX_EVIDENCE

BuildEpisode = Callable[..., Episode]
CONTEXT = TaskContext(language="python", domain="web-api", tags=["auth"])
FAMILY = ["reader", "editor", "pytest", "git"]


def _sequence(
    tools: list[str], rate: float = 1.0, latency: float = 10.0, n: int = 1
) -> ToolSequence:
    return ToolSequence(
        tools=tools,
        success_rate=rate,
        avg_latency_ms=latency,
        context=CONTEXT,
        occurrence_count=n,
        evidence=[uuid4()],
    )


def test_merge_is_occurrence_weighted() -> None:
    stored = _sequence(FAMILY, rate=1.0, latency=10.0, n=3)
    merged = merge_into(stored, _sequence(FAMILY, rate=0.0, latency=50.0, n=1))
    assert isinstance(merged, ToolSequence)
    assert merged.pattern_id == stored.pattern_id
    assert merged.occurrence_count == 4
    assert merged.success_rate == pytest.approx(0.75)
    assert merged.avg_latency_ms == pytest.approx(20.0)
    assert len(merged.evidence) == 2


def test_decision_point_stats_add() -> None:
    def point(ok: int, total: int, secs: float) -> DecisionPoint:
        stats = OutcomeStats(
            success_count=ok, failure_count=total - ok, total_count=total, avg_duration_secs=secs
        )
        return DecisionPoint(
            condition="check status", action="http", outcome_stats=stats, context=CONTEXT
        )

    merged = merge_into(point(2, 2, 1.0), point(0, 2, 3.0))
    assert isinstance(merged, DecisionPoint)
    assert merged.outcome_stats == OutcomeStats(
        success_count=2, failure_count=2, total_count=4, avg_duration_secs=2.0
    )
    assert merged.success_rate == 0.5


def test_error_recoveries_union_their_steps() -> None:
    a = ErrorRecovery(error_type="e", recovery_steps=["x: 1"], success_rate=1.0, context=CONTEXT)
    b = ErrorRecovery(
        error_type="e", recovery_steps=["y: 2", "x: 1"], success_rate=0.0, context=CONTEXT
    )
    merged = merge_into(a, b)
    assert isinstance(merged, ErrorRecovery)
    assert merged.recovery_steps == ["x: 1", "y: 2"]
    assert merged.success_rate == 0.5


def test_evidence_is_bounded() -> None:
    stored: Pattern = _sequence(FAMILY)
    for _ in range(MAX_EVIDENCE + 20):
        stored = merge_into(stored, _sequence(FAMILY))
    assert stored.occurrence_count == MAX_EVIDENCE + 21
    assert len(stored.evidence) == MAX_EVIDENCE


def test_merged_evidence_is_old_then_new_without_duplicates_newest_kept() -> None:
    ids = [uuid4() for _ in range(MAX_EVIDENCE + 5)]
    assert merge_evidence(ids[:3], ids[2:5]) == ids[:5]
    assert merge_evidence([ids[0], ids[0], ids[1]], [ids[1]]) == ids[:2]
    assert merge_evidence([], []) == []
    assert merge_evidence(ids[:MAX_EVIDENCE], ids[MAX_EVIDENCE:]) == ids[5:]
    copies = [UUID(str(i)) for i in ids[:2]]  # equal values, other objects
    assert merge_evidence(ids[:2], copies) == ids[:2]
    assert lists_episode(ids[:3], copies[1])
    assert not lists_episode(ids[:3], ids[3])
    assert not lists_episode([], ids[0])


def test_near_duplicates_merge_and_others_do_not() -> None:
    stored = _sequence(["a", "b", "c", "d", "e"])
    near = _sequence(["a", "b", "c", "d", "f"])
    far = _sequence(["a", "b", "x", "y", "z"])
    assert similarity_key(stored) != similarity_key(near)
    assert pattern_similarity(stored, near) == pytest.approx(0.7 * 0.8 + 0.3)
    assert find_match(near, [stored], 0.85) == stored
    assert find_match(far, [stored], 0.85) is None
    assert find_match(near, [stored], 0.9) is None


def test_string_similarity_reference_values() -> None:
    from memory_core.learning.similarity import sequence_similarity, string_similarity

    assert 0.7 < string_similarity("hello", "hallo") < 0.9
    assert string_similarity("héllo", "hello") == pytest.approx(0.8)
    assert sequence_similarity(["a", "b", "c"], ["a", "b", "d"]) == pytest.approx(2 / 3)
    assert sequence_similarity([], []) == 1.0
    assert sequence_similarity(["a"], []) == 0.0


def test_merger_is_idempotent_per_episode() -> None:
    episode_id = uuid4()
    stored = _sequence(FAMILY).model_copy(update={"evidence": [episode_id]})
    again = _sequence(FAMILY).model_copy(update={"evidence": [episode_id]})
    assert PatternMerger(episode_id, 0.85)(again, [stored]) == stored
    other = PatternMerger(uuid4(), 0.85)(_sequence(FAMILY), [stored])
    assert other is not None
    assert other.occurrence_count == 2


# ------------------------------------------------------ through the memory


def _run_family_episode(memory: SyncSelfLearningMemory, index: int) -> None:
    eid = memory.start_episode(f"Fix flaky login test #{index}", CONTEXT, TaskType.DEBUGGING)
    for tool in FAMILY:
        memory.log_step(
            eid,
            ExecutionStep(
                tool=tool,
                action=f"{tool} step {index}",
                result=ExecutionResult.success("ok"),
                latency_ms=index,
            ),
        )
    memory.complete_episode(eid, TaskOutcome.success(f"fixed #{index}"))


def _assert_one_family_pattern(memory: SyncSelfLearningMemory, count: int) -> None:
    assert memory.wait_for_learning(timeout=120)
    stats = memory.stats().learning
    assert stats.failed == 0
    sequences = memory.list_patterns(kind="tool_sequence", limit=None)
    assert len(sequences) == 1
    [sequence] = sequences
    assert isinstance(sequence, ToolSequence)
    assert sequence.tools == FAMILY
    assert sequence.occurrence_count == count
    assert sequence.success_rate == pytest.approx(1.0)
    assert sequence.avg_latency_ms == pytest.approx((count - 1) / 2)
    assert len(sequence.evidence) == min(count, MAX_EVIDENCE)
    contexts = memory.list_patterns(kind="context_pattern", limit=None)
    assert [p.occurrence_count for p in contexts] == [count]


def test_one_hundred_episodes_make_one_pattern(memory: SyncSelfLearningMemory) -> None:
    for index in range(100):
        _run_family_episode(memory, index)
    _assert_one_family_pattern(memory, 100)


@pytest.fixture
def two_memories(
    config: MemoryConfig, namespace: str
) -> Iterator[tuple[SyncSelfLearningMemory, SyncSelfLearningMemory]]:
    """Two memories on one database and namespace, each with its own store (like two processes)."""
    with SyncSelfLearningMemory(config, namespace=namespace) as first:
        second_store = SQLAlchemyEpisodeStore(config.resolved_database_url)
        with SyncSelfLearningMemory(config, namespace=namespace, store=second_store) as second:
            yield first, second
        second_store.close()


def test_concurrent_completions_make_one_pattern(
    two_memories: tuple[SyncSelfLearningMemory, SyncSelfLearningMemory],
) -> None:
    first, second = two_memories
    errors: list[BaseException] = []

    def worker(memory: SyncSelfLearningMemory, start: int) -> None:
        try:
            for index in range(start, start + 25):
                _run_family_episode(memory, index)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(memory, start))
        for memory, start in ((first, 0), (first, 25), (second, 50), (second, 75))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert second.wait_for_learning(timeout=120)
    _assert_one_family_pattern(first, 100)
