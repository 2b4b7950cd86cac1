"""What the memory concludes about a finished episode: its reward and reflection."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Reflection", "RewardScore"]


class RewardScore(BaseModel):
    """The reward of a completed episode, with every component kept for explanation.

    ``total = max(0, base + abstention_score) * efficiency * complexity_bonus
    * quality_multiplier + learning_bonus``. The derived fields (``raw_reward`` ...
    ``effective_reward``) equal ``total`` with the default scorer; adaptive scorers may
    normalise or decay them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    total: float
    base: float
    efficiency: float
    complexity_bonus: float
    quality_multiplier: float
    learning_bonus: float
    abstention_score: float = 0.0
    raw_reward: float
    normalized_reward: float
    decayed_reward: float
    effective_reward: float


class Reflection(BaseModel):
    """Rule-based lessons from one episode: what went well, what to improve, and insights.

    Each list holds at most five readable sentences.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    successes: list[str] = Field(default_factory=list, max_length=5)
    improvements: list[str] = Field(default_factory=list, max_length=5)
    insights: list[str] = Field(default_factory=list, max_length=5)
    generated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def item_count(self) -> int:
        """Total number of sentences in the reflection."""
        return len(self.successes) + len(self.improvements) + len(self.insights)
