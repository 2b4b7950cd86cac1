"""The reward formula, pinned on the reference's worked example and its boundaries."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from memory_core import ComplexityLevel, Episode, RewardConfig, TaskContext, TaskOutcome
from memory_core.learning import RewardScorer
from memory_core.learning.reward import efficiency, learning_bonus, quality_multiplier

BuildEpisode = Callable[..., Episode]

OK = [("read", "read the file", True), ("edit", "apply the fix", True), ("test", "run", True)]


def test_worked_example_scores_2_081(build: BuildEpisode) -> None:
    episode = build(OK, TaskOutcome.success("done"), context=TaskContext())
    score = RewardScorer().score(episode)
    assert score.base == 1.0
    assert score.abstention_score == 0.0
    assert score.efficiency == pytest.approx(0.5 * 1.5 + 0.5 * (0.5 + math.exp(-0.15)))
    assert score.efficiency == pytest.approx(1.4304, abs=1e-4)
    assert score.complexity_bonus == pytest.approx(1.1)
    assert score.quality_multiplier == pytest.approx(1.1)
    assert score.learning_bonus == pytest.approx(0.35)
    assert score.total == pytest.approx(2.081, abs=5e-4)
    assert score.raw_reward == score.normalized_reward == score.effective_reward == score.total


@pytest.mark.parametrize(
    ("complexity", "bonus"),
    [
        (ComplexityLevel.SIMPLE, 1.0),
        (ComplexityLevel.MODERATE, 1.1),
        (ComplexityLevel.COMPLEX, 1.2),
    ],
)
def test_complexity_bonus(build: BuildEpisode, complexity: ComplexityLevel, bonus: float) -> None:
    episode = build(OK, context=TaskContext(complexity=complexity))
    assert RewardScorer().score(episode).complexity_bonus == pytest.approx(bonus)


def test_efficiency_is_bounded_and_decreases_with_steps(build: BuildEpisode) -> None:
    config = RewardConfig()
    values = [efficiency(build([("t", "a", True)] * n, seconds=5), config) for n in range(1, 60, 3)]
    assert all(0.5 <= v <= 1.5 for v in values)
    assert values == sorted(values, reverse=True)
    assert values[0] > values[-1]
    assert efficiency(build([], seconds=0), config) == pytest.approx(1.0)  # 0.5*1.5 + 0.5*0.5
    assert efficiency(build([("t", "a", True)] * 1000, seconds=10**6), config) >= 0.5


def test_efficiency_decreases_with_duration(build: BuildEpisode) -> None:
    config = RewardConfig()
    values = [efficiency(build(OK, seconds=s), config) for s in (0, 1, 30, 60, 600, 6000)]
    assert values == sorted(values, reverse=True)
    assert values[0] > values[-1]


def test_failure_total_is_at_most_the_learning_bonus(build: BuildEpisode) -> None:
    steps = [("a", "x", False), ("b", "y", True)] * 3
    score = RewardScorer().score(build(steps, TaskOutcome.failure("gave up")))
    assert score.base == 0.0
    assert score.total == pytest.approx(score.learning_bonus)
    assert 0.0 <= score.total <= 0.5


def test_long_failure_is_penalised_and_still_in_range(build: BuildEpisode) -> None:
    steps = [("a", "x", False)] * 11
    score = RewardScorer().score(build(steps, TaskOutcome.failure("no")))
    assert score.abstention_score == pytest.approx(-0.2)
    assert 0.0 <= score.total <= 0.5


def test_partial_success_is_strictly_between_failure_and_success(build: BuildEpisode) -> None:
    scorer = RewardScorer()
    steps = [("read", "r", True), ("edit", "e", True), ("test", "t", False)]
    failure = scorer.score(build(steps, TaskOutcome.failure("no")))
    partial = scorer.score(build(steps, TaskOutcome.partial_success("half", ["a"], ["b"])))
    success = scorer.score(build(steps, TaskOutcome.success("yes")))
    assert failure.base < partial.base < success.base
    assert failure.total < partial.total < success.total
    assert partial.base == pytest.approx(0.5)
    empty = scorer.score(build(steps, TaskOutcome.partial_success("?", [], [])))
    assert empty.base == pytest.approx(0.5)


def test_learning_bonus_is_capped(build: BuildEpisode) -> None:
    steps = [(f"tool{i}", "do", i != 1) for i in range(9)]  # 9 tools, one recovery, fast
    episode = build(steps).model_copy(update={"pattern_ids": [build().episode_id] * 5})
    assert learning_bonus(episode, RewardConfig()) == pytest.approx(0.5)


@pytest.mark.parametrize(("tools", "bonus"), [(2, 0.0), (3, 0.1), (4, 0.1), (5, 0.15)])
def test_tool_diversity_thresholds(build: BuildEpisode, tools: int, bonus: float) -> None:
    steps = [(f"tool{i % tools}", "do", True) for i in range(5)]
    # rate 1.0 over 5 steps: +0.2; fast with 5 steps: +0.1
    assert learning_bonus(build(steps), RewardConfig()) == pytest.approx(bonus + 0.3)


@pytest.mark.parametrize(
    ("coverage", "expected"), [("80", 1.1 + 0.1), ("80.1", 1.1 + 0.15), ("60", 1.1), ("61%", 1.2)]
)
def test_quality_coverage_thresholds_are_strict(
    build: BuildEpisode, coverage: str, expected: float
) -> None:
    episode = build(OK)
    episode.metadata["test_coverage"] = coverage
    assert quality_multiplier(episode) == pytest.approx(expected)


def test_quality_multiplier_bounds(build: BuildEpisode) -> None:
    great = build(OK, TaskOutcome.success("ok", ["tests.py", "coverage.xml", "c"]))
    great.metadata.update(test_coverage="95", clippy_warnings="0")
    assert quality_multiplier(great) == pytest.approx(1.45)  # every bonus at once
    poor = build([("a", "x", False)] * 3 + [("a", "y", True)])
    assert quality_multiplier(poor) == pytest.approx(0.8)


def test_abstention_score(build: BuildEpisode) -> None:
    scorer = RewardScorer()
    early = scorer.score(build(OK, TaskOutcome.abstained("infeasible", 2)))
    middle = scorer.score(build(OK, TaskOutcome.abstained("infeasible", 6)))
    late = scorer.score(build(OK, TaskOutcome.abstained("infeasible", 12)))
    assert early.abstention_score == pytest.approx(0.5)
    assert middle.abstention_score == pytest.approx(0.5 - 0.8 * 3 / 7)
    assert late.abstention_score == pytest.approx(-0.3)
    assert early.total > middle.total > late.total >= 0


def test_configurable_references(build: BuildEpisode) -> None:
    episode = build([("t", "a", True)] * 10, seconds=60)
    default = RewardScorer().score(episode).efficiency
    lenient = RewardScorer(
        RewardConfig(step_reference_count=100, duration_reference_seconds=600)
    ).score(episode)
    assert lenient.efficiency > default
