"""The reward of a completed episode, with every component kept for explanation.

``total = max(0, base + abstention) * efficiency * complexity_bonus * quality_multiplier
+ learning_bonus`` with the reference constants (configurable through `RewardConfig`).
Worked example: a successful moderate episode of 3 successful steps with 3 distinct tools,
completed instantly, scores ``1.0 * 1.4304 * 1.1 * 1.1 + 0.35 ≈ 2.081``.
"""

from __future__ import annotations

import itertools
import math

from memory_core.config import RewardConfig
from memory_core.models import ComplexityLevel, Episode, RewardScore

__all__ = [
    "RewardScorer",
    "abstention_score",
    "base_score",
    "complexity_bonus",
    "efficiency",
    "learning_bonus",
    "quality_multiplier",
]

_QUALITY_RANGE = (0.5, 1.5)
_EFFICIENCY_RANGE = (0.5, 1.5)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def base_score(episode: Episode) -> float:
    """Success 1.0; partial = completed share (0.5 if nothing listed); abstained 0.3; else 0."""
    outcome = episode.outcome
    if outcome is None or episode.end_time is None:
        return 0.0
    if outcome.kind == "success":
        return 1.0
    if outcome.kind == "partial_success":
        done, failed = len(outcome.completed), len(outcome.failed)
        return done / (done + failed) if done + failed else 0.5
    if outcome.kind == "abstained":
        return 0.3
    return 0.0


def abstention_score(episode: Episode) -> float:
    """Credit for giving up early on an infeasible task, or a penalty for failing late.

    Abstained at step <= 3: +0.5; at step >= 10: -0.3; linear in between. A failure after
    more than 10 steps: -0.2. Otherwise 0.
    """
    outcome = episode.outcome
    if outcome is None:
        return 0.0
    if outcome.kind == "abstained":
        step = outcome.stopped_at_step or 0
        if step <= 3:
            return 0.5
        if step >= 10:
            return -0.3
        return 0.5 - 0.8 * (step - 3) / 7
    if outcome.kind == "failure" and len(episode.steps) > 10:
        return -0.2
    return 0.0


def _decay(value: float, reference: float) -> float:
    return 0.5 + math.exp(-(value / reference) / 2.0)


def efficiency(episode: Episode, config: RewardConfig) -> float:
    """Weighted duration and step-count sub-scores, clamped to [0.5, 1.5].

    Each sub-score is ``0.5 + exp(-(x / reference) / 2)``: 1.5 for an instant, step-less
    run, tending to 0.5 for long ones. Duration counts whole seconds (an instant run scores
    1.5; an episode without end time 1.0); an episode without steps scores 0.5 on steps.
    """
    duration = episode.duration_seconds
    if duration is None:
        duration_score = 1.0
    elif int(duration) <= 0:
        duration_score = 1.5
    else:
        duration_score = _decay(float(int(duration)), config.duration_reference_seconds)
    steps = len(episode.steps)
    step_score = 0.5 if steps == 0 else _decay(float(steps), config.step_reference_count)
    weights = config.duration_weight + config.step_weight
    if weights <= 0:
        return 1.0
    value = (config.duration_weight * duration_score + config.step_weight * step_score) / (weights)
    return _clamp(value, *_EFFICIENCY_RANGE)


def complexity_bonus(episode: Episode, config: RewardConfig) -> float:
    """Simple 1.0, moderate 1.1, complex 1.2 (configurable)."""
    return {
        ComplexityLevel.SIMPLE: config.simple_bonus,
        ComplexityLevel.MODERATE: config.moderate_bonus,
        ComplexityLevel.COMPLEX: config.complex_bonus,
    }[episode.context.complexity]


def _coverage(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip().rstrip("%"))
    except ValueError:
        return None


def quality_multiplier(episode: Episode) -> float:
    """Evidence of quality: tests and artifacts, coverage, a clean step record; in [0.5, 1.5].

    For a success: +0.1 when an artifact name mentions "test" or "coverage", +0.05 for 3 or
    more artifacts, +0.15 / +0.1 for metadata ``test_coverage`` above 80 / 60 (percent).
    For every episode: step error rate above 0.3 -0.2, above 0.1 -0.1, exactly 0 +0.1;
    metadata ``clippy_warnings`` or ``lint_warnings`` equal to "0" +0.05.
    """
    value = 1.0
    outcome = episode.outcome
    if outcome is not None and outcome.kind == "success":
        names = [a.lower() for a in outcome.artifacts]
        if any("coverage" in n or "test" in n for n in names):
            value += 0.1
        if len(names) >= 3:
            value += 0.05
        coverage = _coverage(episode.metadata.get("test_coverage"))
        if coverage is not None:
            if coverage > 80:
                value += 0.15
            elif coverage > 60:
                value += 0.1
    if episode.steps:
        error_rate = episode.failed_steps / len(episode.steps)
        if error_rate > 0.3:
            value -= 0.2
        elif error_rate > 0.1:
            value -= 0.1
        elif error_rate == 0:
            value += 0.1
    if "0" in (episode.metadata.get("clippy_warnings"), episode.metadata.get("lint_warnings")):
        value += 0.05
    return _clamp(value, *_QUALITY_RANGE)


def _has_recovery(episode: Episode) -> bool:
    steps = episode.steps
    return any(not a.is_success and b.is_success for a, b in itertools.pairwise(steps))


def learning_bonus(episode: Episode, config: RewardConfig) -> float:
    """What the episode teaches, capped at 0.5 (configurable).

    +0.1 per pattern already linked to the episode (at most 0.3); with 3+ steps, +0.15 for
    5+ distinct tools or +0.1 for 3+; +0.2 for a step success rate above 0.9 over 5+ steps,
    else +0.15 for all of 3+ steps successful; +0.15 for an error followed by a success;
    +0.1 for a run under 30 s with 1-9 steps.
    """
    steps = episode.steps
    count = len(steps)
    bonus = min(0.1 * len(episode.pattern_ids), 0.3)
    if count >= 3:
        tools = len({s.tool for s in steps})
        if tools >= 5:
            bonus += 0.15
        elif tools >= 3:
            bonus += 0.1
    rate = episode.step_success_rate
    if rate > 0.9 and count >= 5:
        bonus += 0.2
    elif rate == 1.0 and count >= 3:
        bonus += 0.15
    if _has_recovery(episode):
        bonus += 0.15
    duration = episode.duration_seconds
    if duration is not None and duration < 30 and 1 <= count <= 9:
        bonus += 0.1
    return min(bonus, config.learning_bonus_cap)


class RewardScorer:
    """Computes `RewardScore` for completed episodes (deterministic, no I/O).

    Args:
        config: Weights and references (reference values by default).
    """

    def __init__(self, config: RewardConfig | None = None) -> None:
        self.config = config or RewardConfig()

    def score(self, episode: Episode) -> RewardScore:
        """Score one episode; an incomplete episode scores its learning bonus only."""
        base = base_score(episode)
        abstention = abstention_score(episode)
        eff = efficiency(episode, self.config)
        cx = complexity_bonus(episode, self.config)
        quality = quality_multiplier(episode)
        bonus = learning_bonus(episode, self.config)
        total = max(0.0, base + abstention) * eff * cx * quality + bonus
        return RewardScore(
            total=total,
            base=base,
            efficiency=eff,
            complexity_bonus=cx,
            quality_multiplier=quality,
            learning_bonus=bonus,
            abstention_score=abstention,
            raw_reward=total,
            normalized_reward=total,
            decayed_reward=total,
            effective_reward=total,
        )
