"""Reward scores for stored test episodes."""

from __future__ import annotations

from memory_core import RewardScore


def flat_reward(total: float) -> RewardScore:
    """A reward of ``total`` with neutral components (as the scorer would report it)."""
    return RewardScore(
        total=total,
        base=1.0,
        efficiency=1.0,
        complexity_bonus=1.0,
        quality_multiplier=1.0,
        learning_bonus=0.0,
        raw_reward=total,
        normalized_reward=total,
        decayed_reward=total,
        effective_reward=total,
    )
