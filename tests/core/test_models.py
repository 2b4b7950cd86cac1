"""The domain model: constructors, validation and exact JSON round-trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from memory_core import (
    ComplexityLevel,
    ContextPattern,
    DecisionPoint,
    Episode,
    ErrorRecovery,
    ExecutionResult,
    ExecutionStep,
    Heuristic,
    OutcomeStats,
    Pattern,
    PatternEffectiveness,
    Reflection,
    RewardScore,
    TaskContext,
    TaskOutcome,
    TaskType,
    TokenUsage,
    ToolSequence,
)

T0 = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def full_context() -> TaskContext:
    return TaskContext(
        language="python",
        framework="fastapi",
        domain="web-api",
        complexity=ComplexityLevel.COMPLEX,
        tags=["Auth", "async-io", "auth"],
    )


def full_episode() -> Episode:
    return Episode(
        task_type=TaskType.DEBUGGING,
        task_description="Fix the failing login test — ünïcödé ✓",
        context=full_context(),
        start_time=T0,
        end_time=T0 + timedelta(seconds=12.5),
        steps=[
            ExecutionStep(
                step_number=1,
                timestamp=T0 + timedelta(seconds=1),
                tool="pytest",
                action="run",
                parameters={"args": ["-x", "tests"], "nested": {"n": 1, "f": 0.1, "z": None}},
                result=ExecutionResult.error("AssertionError: 401"),
                latency_ms=12.25,
                tokens_used=42,
                metadata={"source": "ci"},
            ),
            ExecutionStep(step_number=2, tool="editor", action="patch", result=None),
            ExecutionStep(
                step_number=5, tool="pytest", action="rerun", result=ExecutionResult.timeout()
            ),
            ExecutionStep(
                step_number=6, tool="pytest", action="rerun", result=ExecutionResult.success("ok")
            ),
        ],
        outcome=TaskOutcome.partial_success("mostly", completed=["login"], failed=["logout"]),
        reward=RewardScore(
            total=1.23456789,
            base=0.5,
            efficiency=0.987654321,
            complexity_bonus=1.2,
            quality_multiplier=1.05,
            learning_bonus=0.1,
            abstention_score=0.0,
            raw_reward=1.23456789,
            normalized_reward=1.23456789,
            decayed_reward=1.23456789,
            effective_reward=1.23456789,
        ),
        reflection=Reflection(
            successes=["ran tests first"],
            improvements=["fewer reruns"],
            insights=["timeouts come from the fixture"],
            generated_at=T0,
        ),
        pattern_ids=[uuid4(), uuid4()],
        heuristic_ids=[uuid4()],
        retrieved_pattern_ids=[uuid4()],
        token_usage=TokenUsage(input_tokens=10, output_tokens=5, total_tokens=15, llm_calls=2),
        metadata={"run": "7", "agent": "scripted"},
    )


def all_patterns() -> list[Pattern]:
    eff = PatternEffectiveness(
        times_retrieved=4,
        times_applied=3,
        success_when_applied=2,
        failure_when_applied=1,
        avg_reward_delta=0.125,
        last_used=T0,
        created_at=T0,
    )
    ev = [uuid4(), uuid4()]
    return [
        ToolSequence(
            tools=["grep", "editor", "pytest"],
            success_rate=0.75,
            avg_latency_ms=3.5,
            context=full_context(),
            evidence=ev,
            occurrence_count=3,
            effectiveness=eff,
        ),
        DecisionPoint(
            condition="tests fail with 401",
            action="check token expiry",
            outcome_stats=OutcomeStats(
                success_count=3, failure_count=1, total_count=4, avg_duration_secs=2.5
            ),
            context=full_context(),
        ),
        ErrorRecovery(
            error_type="timeout", recovery_steps=["retry", "raise limit"], success_rate=0.5
        ),
        ContextPattern(
            context_features=["language:python", "domain:web-api"],
            recommended_approach="run tests first",
            success_rate=1.0,
            evidence=ev,
        ),
    ]


def assert_round_trip(model: BaseModel) -> None:
    data = model.model_dump_json()
    back = type(model).model_validate_json(data)
    assert back == model
    assert back.model_dump_json() == data


def test_every_model_round_trips_exactly_through_json() -> None:
    episode = full_episode()
    models: list[BaseModel] = [
        episode,
        episode.context,
        *episode.steps,
        *(s.result for s in episode.steps if s.result is not None),
        episode.reward,  # type: ignore[list-item]
        episode.reflection,  # type: ignore[list-item]
        episode.token_usage,  # type: ignore[list-item]
        TaskOutcome.success("done", artifacts=["a.py"]),
        TaskOutcome.partial_success("half", completed=["a"], failed=["b"]),
        TaskOutcome.failure("broke", error_details="trace"),
        TaskOutcome.abstained("infeasible", stopped_at_step=3, infeasibility_signals=["no access"]),
        Heuristic(condition="when x", action="do y", success_count=2, sample_size=3),
        *all_patterns(),
    ]
    for model in models:
        assert_round_trip(model)


def test_pattern_union_round_trips_with_its_kind() -> None:
    adapter = TypeAdapter[Pattern](Pattern)
    kinds = []
    for pattern in all_patterns():
        back = adapter.validate_json(adapter.dump_json(pattern))
        assert back == pattern
        assert type(back) is type(pattern)
        kinds.append(back.kind)
    assert kinds == ["tool_sequence", "decision_point", "error_recovery", "context_pattern"]


def test_task_context_defaults_and_tag_normalisation() -> None:
    ctx = TaskContext()
    assert (ctx.language, ctx.framework, ctx.domain, ctx.complexity, ctx.tags) == (
        None,
        None,
        "general",
        ComplexityLevel.MODERATE,
        [],
    )
    assert full_context().tags == ["auth", "async-io"]
    assert TaskContext(language="  ", domain=" web ").language is None
    assert TaskContext(domain=" web ").domain == "web"


@pytest.mark.parametrize(
    "bad",
    [
        {"tags": ["x"]},
        {"tags": ["has space"]},
        {"tags": ["a" * 101]},
        {"domain": "   "},
        {"complexity": "impossible"},
        {"colour": "red"},
    ],
)
def test_task_context_rejects_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TaskContext.model_validate(bad)


def test_task_type_members_and_values() -> None:
    assert [t.name for t in TaskType] == [
        "CODE_GENERATION",
        "DEBUGGING",
        "REFACTORING",
        "TESTING",
        "ANALYSIS",
        "DOCUMENTATION",
        "OTHER",
    ]
    assert TaskType("code_generation") is TaskType.CODE_GENERATION
    assert [c.value for c in ComplexityLevel] == ["simple", "moderate", "complex"]


def test_execution_result_constructors() -> None:
    assert ExecutionResult.success("out") == ExecutionResult(kind="success", output="out")
    assert ExecutionResult.error("boom").message == "boom"
    assert ExecutionResult.timeout().kind == "timeout"
    assert ExecutionResult.success().is_success
    assert not ExecutionResult.error("x").is_success


def test_execution_step_success_and_numbering() -> None:
    assert ExecutionStep(tool="t", action="a").step_number is None
    assert not ExecutionStep(tool="t", action="a").is_success  # no result: not a success
    assert ExecutionStep(tool="t", action="a", result=ExecutionResult.success()).is_success
    assert ExecutionStep(tool="t", action="a", result=ExecutionResult.timeout()).error_message == (
        "timeout"
    )
    with pytest.raises(ValidationError):
        ExecutionStep(tool="t", action="a", step_number=0)
    with pytest.raises(ValidationError):
        ExecutionStep(tool=" ", action="a")
    naive = ExecutionStep(tool="t", action="a", timestamp=datetime(2025, 1, 1))
    assert naive.timestamp.tzinfo is UTC
    other = timezone(timedelta(hours=2))
    aware = ExecutionStep(tool="t", action="a", timestamp=datetime(2025, 1, 1, tzinfo=other))
    assert_round_trip(aware)


def test_task_outcome_constructors_and_kinds() -> None:
    assert TaskOutcome.success("v").kind == "success"
    assert TaskOutcome.success("v").artifacts == []
    assert TaskOutcome.partial_success("v", ["a"], ["b"]).kind == "partial_success"
    assert TaskOutcome.failure("r").error_details is None
    abstained = TaskOutcome.abstained("r", 2)
    assert (abstained.kind, abstained.stopped_at_step, abstained.infeasibility_signals) == (
        "abstained",
        2,
        [],
    )
    with pytest.raises(ValidationError, match="needs reason"):
        TaskOutcome(kind="failure")


def test_episode_derived_properties() -> None:
    episode = full_episode()
    assert episode.is_complete
    assert episode.duration_seconds == 12.5
    assert (episode.successful_steps, episode.failed_steps) == (1, 3)
    assert episode.step_success_rate == 0.25
    running = Episode(task_description="x")
    assert not running.is_complete
    assert running.duration_seconds is None
    assert running.step_success_rate == 0.0
    assert running.context == TaskContext()
    assert running.task_type is TaskType.OTHER


def test_pattern_derived_properties() -> None:
    seq, decision, recovery, ctx = all_patterns()
    assert seq.confidence == pytest.approx(0.75 * 3**0.5)
    assert decision.success_rate == 0.75
    assert decision.sample_size == 4
    assert recovery.sample_size == 1
    assert ctx.sample_size == 2
    assert PatternEffectiveness().effectiveness_score == 0.5
    assert seq.effectiveness.application_success_rate == pytest.approx(2 / 3)
    assert seq.domain == "web-api"
    assert recovery.domain is None


_text = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    tool=_text,
    action=_text,
    parameters=st.dictionaries(st.text(max_size=10), _json, max_size=4),
    output=st.text(max_size=50),
    latency=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    number=st.integers(1, 10**6),
    when=st.datetimes(timezones=st.just(UTC)),
)
def test_execution_step_json_round_trip_property(
    tool: str,
    action: str,
    parameters: dict[str, object],
    output: str,
    latency: float,
    number: int,
    when: datetime,
) -> None:
    step = ExecutionStep(
        step_number=number,
        timestamp=when,
        tool=tool,
        action=action,
        parameters=parameters,
        result=ExecutionResult.success(output),
        latency_ms=latency,
    )
    assert_round_trip(step)


def test_new_ids_are_unique_version_4_uuids_also_after_fork() -> None:
    import multiprocessing
    import uuid as uuid_module

    from memory_core.models import new_id

    ids = [new_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    assert {i.version for i in ids} == {4}
    assert {i.variant for i in ids} == {uuid_module.RFC_4122}
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:  # forked children must not repeat the parent's sequence
        children = pool.map(_ids_in_child, range(2))
    mine = [new_id() for _ in range(100)]
    assert not set(children[0]) & set(children[1])
    assert not set(mine) & (set(children[0]) | set(children[1]))


def _ids_in_child(_: int) -> list[UUID]:
    from memory_core.models import new_id

    return [new_id() for _ in range(100)]
