"""Example memory-core plugin: "slow tool" patterns and a lifecycle observer.

Registered through the ``memory_core`` entry-point group (see ``pyproject.toml``).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from uuid import UUID

from memory_core import (
    DecisionPoint,
    Episode,
    ExecutionStep,
    LearningConfig,
    OutcomeStats,
    Pattern,
    PatternExtractor,
    hookimpl,
)

__all__ = [
    "SLOW_STEP_MS",
    "SlowToolExtractor",
    "episode_completed",
    "episode_started",
    "events",
    "patterns_learned",
    "register_pattern_extractors",
    "step_logged",
]

SLOW_STEP_MS = 1_000.0
"""A step at or above this latency counts as slow."""

events: Counter[str] = Counter()
"""How many lifecycle events this process has observed, by hook name."""
_lock = threading.Lock()


class SlowToolExtractor:
    """Learns which tools are slow, as decision points: "when using X (slow), cache it"."""

    name = "example.slow-tool"

    def __init__(self, threshold_ms: float = SLOW_STEP_MS) -> None:
        self.threshold_ms = threshold_ms

    def extract(self, episode: Episode, config: LearningConfig) -> list[Pattern]:
        """One pattern per tool whose average latency in the episode reaches the threshold."""
        latencies: dict[str, list[float]] = {}
        for step in episode.steps:
            latencies.setdefault(step.tool, []).append(step.latency_ms)
        patterns: list[Pattern] = []
        for tool, values in sorted(latencies.items()):
            average = sum(values) / len(values)
            if average < self.threshold_ms:
                continue
            ok = sum(1 for s in episode.steps if s.tool == tool and s.is_success)
            patterns.append(
                DecisionPoint(
                    condition=f"tool {tool} is slow",
                    action=f"cache or parallelise {tool} calls",
                    context=episode.context,
                    evidence=[episode.episode_id],
                    outcome_stats=OutcomeStats(
                        success_count=ok,
                        failure_count=len(values) - ok,
                        total_count=len(values),
                        avg_duration_secs=average / 1000.0,
                    ),
                )
            )
        return patterns


def _record(event: str) -> None:
    with _lock:
        events[event] += 1
    path = os.environ.get("MEMORY_CORE_EXAMPLE_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(event + "\n")


@hookimpl
def register_pattern_extractors(register: Callable[[PatternExtractor], None]) -> None:
    """Add the slow-tool extractor."""
    register(SlowToolExtractor())


@hookimpl
def episode_started(episode: Episode, namespace: str) -> None:
    """Count started episodes."""
    _record("episode_started")


@hookimpl
def step_logged(episode_id: UUID, step: ExecutionStep, namespace: str) -> None:
    """Count logged steps."""
    _record("step_logged")


@hookimpl
def episode_completed(episode: Episode, namespace: str) -> None:
    """Count completed episodes."""
    _record("episode_completed")


@hookimpl
def patterns_learned(episode: Episode, patterns: Sequence[Pattern], namespace: str) -> None:
    """Count learning passes."""
    _record("patterns_learned")
