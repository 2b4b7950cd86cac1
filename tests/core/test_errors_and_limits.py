"""Bad input gets a typed error that says what to fix, and nothing stored changes."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

import memory_core
from memory_core import (
    EpisodeAlreadyCompletedError,
    EpisodeNotFoundError,
    ExecutionResult,
    ExecutionStep,
    InvalidInputError,
    LimitsConfig,
    MemoryConfig,
    MemoryCoreError,
    PayloadTooLargeError,
    StepOrderError,
    StorageError,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
)

LIMITS = LimitsConfig(
    max_description_bytes=40,
    max_steps_per_episode=3,
    max_step_output_bytes=30,
    max_parameters_bytes=60,
    max_episode_bytes=4_000,
)


@pytest.fixture
def small(database_url: str, namespace: str) -> Iterator[SyncSelfLearningMemory]:
    """A memory with tiny limits."""
    config = MemoryConfig(database_url=database_url, load_plugins=False, limits=LIMITS)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        yield memory


def _snapshot(memory: SyncSelfLearningMemory) -> tuple[list[str], int, int]:
    """Everything stored in the namespace (flushes pending writes first)."""
    episodes = [e.model_dump_json() for e in memory.list_episodes(limit=None)]
    stats = memory.stats()
    return episodes, stats.episodes_total, stats.patterns_total


@pytest.fixture
def seeded(small: SyncSelfLearningMemory) -> tuple[UUID, UUID]:
    """One completed and one in-flight episode (with one step)."""
    done = small.start_episode("done already")
    small.log_step(done, ExecutionStep(tool="t", action="a", result=ExecutionResult.success()))
    small.complete_episode(done, TaskOutcome.success("ok"))
    small.wait_for_learning(timeout=30)
    running = small.start_episode("running")
    small.log_step(running, ExecutionStep(tool="t", action="a"))
    return done, running


def _ok_step(**kw: Any) -> ExecutionStep:
    return ExecutionStep(tool="t", action="a", **kw)


CASES: list[
    tuple[str, type[MemoryCoreError], str, Callable[[SyncSelfLearningMemory, UUID, UUID], object]]
] = [
    (
        "log to unknown episode",
        EpisodeNotFoundError,
        "does not exist in namespace",
        lambda m, d, r: m.log_step(uuid4(), _ok_step()),
    ),
    (
        "log to completed episode",
        EpisodeAlreadyCompletedError,
        "start a new episode",
        lambda m, d, r: m.log_step(d, _ok_step()),
    ),
    (
        "complete twice",
        EpisodeAlreadyCompletedError,
        "already completed",
        lambda m, d, r: m.complete_episode(d, TaskOutcome.success("again")),
    ),
    (
        "complete unknown episode",
        EpisodeNotFoundError,
        "check the id",
        lambda m, d, r: m.complete_episode(uuid4(), TaskOutcome.success("x")),
    ),
    (
        "get unknown episode",
        EpisodeNotFoundError,
        "does not exist",
        lambda m, d, r: m.get_episode(uuid4()),
    ),
    (
        "delete unknown episode",
        EpisodeNotFoundError,
        "does not exist",
        lambda m, d, r: m.delete_episode(uuid4()),
    ),
    (
        "oversized description",
        PayloadTooLargeError,
        "max_description_bytes",
        lambda m, d, r: m.start_episode("é" * 21),  # 42 bytes, 21 characters
    ),
    (
        "empty description",
        InvalidInputError,
        "non-empty",
        lambda m, d, r: m.start_episode("   "),
    ),
    (
        "description not a string",
        InvalidInputError,
        "non-empty string",
        lambda m, d, r: m.start_episode(42),  # type: ignore[arg-type]
    ),
    (
        "oversized output",
        PayloadTooLargeError,
        "max_step_output_bytes",
        lambda m, d, r: m.log_step(r, _ok_step(result=ExecutionResult.success("x" * 31))),
    ),
    (
        "oversized error message",
        PayloadTooLargeError,
        "max_step_output_bytes",
        lambda m, d, r: m.log_step(r, _ok_step(result=ExecutionResult.error("x" * 31))),
    ),
    (
        "oversized parameters",
        PayloadTooLargeError,
        "store large artifacts elsewhere",
        lambda m, d, r: m.log_step(r, _ok_step(parameters={"blob": "x" * 60})),
    ),
    (
        "parameters that are not JSON",
        InvalidInputError,
        "not JSON-serialisable",
        lambda m, d, r: m.log_step(r, _ok_step(parameters={"obj": object()})),
    ),
    (
        "step number not above the previous",
        StepOrderError,
        "omit step_number",
        lambda m, d, r: m.log_step(r, _ok_step(step_number=1)),
    ),
    (
        "step number below one",
        InvalidInputError,
        "step_number",
        lambda m, d, r: m.log_step(r, {"tool": "t", "action": "a", "step_number": 0}),
    ),
    (
        "step of the wrong shape",
        InvalidInputError,
        "invalid step",
        lambda m, d, r: m.log_step(r, {"tool": "t"}),
    ),
    (
        "bad tag",
        InvalidInputError,
        "tags must be 2-100 characters",
        lambda m, d, r: m.start_episode("x", {"tags": ["not ok!"]}),
    ),
    (
        "unknown context field",
        InvalidInputError,
        "invalid context",
        lambda m, d, r: m.start_episode("x", {"langauge": "python"}),
    ),
    (
        "context of the wrong type",
        InvalidInputError,
        "invalid context",
        lambda m, d, r: m.start_episode("x", "python"),  # type: ignore[arg-type]
    ),
    (
        "unknown task type",
        InvalidInputError,
        "use one of",
        lambda m, d, r: m.start_episode("x", None, "coding"),
    ),
    (
        "bad outcome",
        InvalidInputError,
        "invalid outcome",
        lambda m, d, r: m.complete_episode(r, {"kind": "success"}),
    ),
    (
        "list with unknown task type",
        InvalidInputError,
        "use one of",
        lambda m, d, r: m.list_episodes(task_type="coding"),
    ),
    (
        "list with unknown outcome kind",
        InvalidInputError,
        "use one of",
        lambda m, d, r: m.list_episodes(outcome_kind="won"),  # type: ignore[arg-type]
    ),
    (
        "list with a bad limit",
        InvalidInputError,
        "limit",
        lambda m, d, r: m.list_episodes(limit=-1),
    ),
    (
        "list with a bad offset",
        InvalidInputError,
        "offset",
        lambda m, d, r: m.list_episodes(offset=-1),
    ),
    (
        "search with a bad limit",
        InvalidInputError,
        "limit",
        lambda m, d, r: m.search_episodes("x", limit=0),
    ),
]


@pytest.mark.parametrize(
    ("error", "hint", "call"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_raises_a_typed_error_and_changes_nothing(
    small: SyncSelfLearningMemory,
    seeded: tuple[UUID, UUID],
    error: type[MemoryCoreError],
    hint: str,
    call: Callable[[SyncSelfLearningMemory, UUID, UUID], object],
) -> None:
    done, running = seeded
    before = _snapshot(small)
    running_before = small.get_episode(running)
    with pytest.raises(error, match=hint) as info:
        call(small, done, running)
    assert isinstance(info.value, MemoryCoreError)
    assert _snapshot(small) == before
    assert small.get_episode(running) == running_before
    assert small.stats().pending_writes == 0
    # The memory keeps working: the in-flight episode can still be logged to and completed.
    assert small.log_step(running, _ok_step()).step_number == 2
    assert small.complete_episode(running, TaskOutcome.success("fine")).is_complete


def test_step_limit_per_episode(small: SyncSelfLearningMemory) -> None:
    eid = small.start_episode("many steps")
    for _ in range(LIMITS.max_steps_per_episode):
        small.log_step(eid, _ok_step())
    before = small.get_episode(eid)
    with pytest.raises(PayloadTooLargeError, match="max_steps_per_episode"):
        small.log_step(eid, _ok_step())
    assert small.get_episode(eid) == before
    assert len(small.complete_episode(eid, TaskOutcome.success("ok")).steps) == 3


def test_oversized_episode_is_not_completed_and_can_be_retried(
    small: SyncSelfLearningMemory,
) -> None:
    eid = small.start_episode("big outcome")
    small.log_step(eid, _ok_step())
    before = _snapshot(small)
    with pytest.raises(PayloadTooLargeError, match="it was not completed"):
        small.complete_episode(eid, TaskOutcome.success("v" * 5_000))
    assert _snapshot(small) == before
    assert not small.get_episode(eid).is_complete
    assert small.complete_episode(eid, TaskOutcome.success("short")).is_complete


def test_limits_are_configurable_and_default_to_the_reference(
    memory: SyncSelfLearningMemory,
) -> None:
    eid = memory.start_episode("x" * 10_000)  # exactly at the default limit
    memory.log_step(eid, _ok_step(result=ExecutionResult.success("y" * 10_000)))
    with pytest.raises(PayloadTooLargeError):
        memory.start_episode("x" * 10_001)
    with pytest.raises(PayloadTooLargeError):
        memory.log_step(eid, _ok_step(result=ExecutionResult.success("y" * 10_001)))


def test_in_flight_duplicate_id_is_refused(memory: SyncSelfLearningMemory) -> None:
    eid = memory.engine.start_episode("first", episode_id=uuid4())
    with pytest.raises(InvalidInputError, match="already being recorded"):
        memory.engine.start_episode("second", episode_id=eid)
    assert memory.get_episode(eid).task_description == "first"


def test_bad_namespace_is_refused(config: MemoryConfig) -> None:
    with pytest.raises(InvalidInputError, match="invalid namespace"):
        SyncSelfLearningMemory(config, namespace="has space")
    with pytest.raises(InvalidInputError, match="invalid namespace"):
        SyncSelfLearningMemory(config, namespace="")


def test_unreachable_database_is_a_storage_error() -> None:
    config = MemoryConfig(
        database_url="postgresql://nobody:pw@127.0.0.1:1/none", load_plugins=False
    )
    with pytest.raises(StorageError, match="database operation failed") as info:
        SyncSelfLearningMemory(config)
    assert info.value.__cause__ is not None


def test_error_messages_name_the_episode_and_namespace(memory: SyncSelfLearningMemory) -> None:
    missing = uuid4()
    with pytest.raises(EpisodeNotFoundError) as info:
        memory.get_episode(missing)
    assert info.value.episode_id == missing
    assert info.value.namespace == memory.namespace
    assert str(missing) in str(info.value)
    assert memory.namespace in str(info.value)


def test_every_error_is_documented_and_derives_from_the_base() -> None:
    errors = [
        obj
        for name in memory_core.__all__
        if inspect.isclass(obj := getattr(memory_core, name)) and issubclass(obj, BaseException)
    ]
    assert MemoryCoreError in errors
    assert len(errors) >= 10
    for cls in errors:
        assert issubclass(cls, MemoryCoreError), cls
        assert cls is MemoryCoreError or "raised" in (cls.__doc__ or "").lower(), cls
    assert issubclass(InvalidInputError, ValueError)
    assert issubclass(EpisodeNotFoundError, LookupError)


def test_a_context_model_is_accepted_as_is(small: SyncSelfLearningMemory) -> None:
    ctx = TaskContext(domain="web", tags=["a1"])
    eid = small.start_episode("ok", ctx)
    assert small.get_episode(eid).context == ctx
