"""Fixtures for store-level tests: a real `SQLAlchemyEpisodeStore` and model builders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from memory_core import (
    ComplexityLevel,
    Episode,
    ExecutionResult,
    ExecutionStep,
    Reflection,
    RewardScore,
    TaskContext,
    TaskOutcome,
    TaskType,
    TokenUsage,
)

T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def make_episode(
    description: str = "task",
    *,
    domain: str = "general",
    task_type: TaskType = TaskType.OTHER,
    start: datetime = T0,
    steps: int = 0,
    outcome: TaskOutcome | None = None,
    reward: float | None = None,
) -> Episode:
    """An episode; complete (with end time, reward and reflection) when ``outcome`` is given."""
    episode = Episode(
        task_description=description,
        task_type=task_type,
        context=TaskContext(
            language="python",
            framework="django",
            domain=domain,
            complexity=ComplexityLevel.SIMPLE,
            tags=["x1", "y2"],
        ),
        start_time=start,
        steps=[
            ExecutionStep(
                step_number=i,
                timestamp=start + timedelta(milliseconds=i),
                tool=f"tool{i}",
                action=f"action {i}",
                parameters={"i": i, "nested": {"list": [1, 2.5, "x", None, True]}},
                result=ExecutionResult.success(f"out {i}") if i % 2 else ExecutionResult.error("e"),
                latency_ms=i * 1.5,
                tokens_used=i,
                metadata={"k": str(i)},
            )
            for i in range(1, steps + 1)
        ],
        metadata={"origin": "test", "ünï": "cödé"},
    )
    if outcome is None:
        return episode
    total = 1.0 if reward is None else reward
    return episode.model_copy(
        update={
            "outcome": outcome,
            "end_time": start + timedelta(seconds=3.25),
            "reward": RewardScore(
                total=total,
                base=1.0,
                efficiency=0.9,
                complexity_bonus=1.1,
                quality_multiplier=1.0,
                learning_bonus=0.05,
                raw_reward=total,
                normalized_reward=total,
                decayed_reward=total,
                effective_reward=total,
            ),
            "reflection": Reflection(successes=["s"], improvements=["i"], insights=["n"]),
            "token_usage": TokenUsage(input_tokens=1, output_tokens=2, total_tokens=3, llm_calls=1),
            "pattern_ids": [uuid4()],
            "retrieved_pattern_ids": [uuid4()],
        }
    )


@pytest.fixture
def episode_factory() -> Callable[..., Episode]:
    """`make_episode`, for tests (conftest modules are not importable)."""
    return make_episode
