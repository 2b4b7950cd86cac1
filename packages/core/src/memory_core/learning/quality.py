"""The optional quality gate: a score in [0, 1] of how much an episode is worth keeping.

Computed *after* reflection and pattern extraction (the reference computed it before, so its
reflection and novelty features were constant and its default threshold unreachable).
Weights: task complexity 0.25, step diversity 0.20, error rate 0.20, reflection depth 0.20,
pattern novelty 0.15.
"""

from __future__ import annotations

from memory_core.models import Episode, Reflection

__all__ = ["quality_score"]


def _bucket(value: int, bounds: tuple[tuple[int, float], ...], top: float) -> float:
    for limit, score in bounds:
        if value <= limit:
            return score
    return top


def _complexity(episode: Episode) -> float:
    steps = _bucket(len(episode.steps), ((2, 0.1), (5, 0.25), (10, 0.35), (20, 0.45)), 0.5)
    tools = len({s.tool for s in episode.steps})
    return steps + _bucket(tools, ((1, 0.1), (3, 0.25), (6, 0.35), (10, 0.45)), 0.5)


def _diversity(episode: Episode) -> float:
    steps = episode.steps
    if not steps:
        return 0.0
    actions = len({s.action for s in steps}) / len(steps)
    ok, failed = episode.successful_steps, episode.failed_steps
    mix = 0.5 if ok and failed else 0.3
    return 0.6 * actions + 0.4 * mix


def _error_rate(episode: Episode) -> float:
    steps = episode.steps
    if not steps:
        return 0.5
    rate = episode.failed_steps / len(steps)
    ok = episode.successful_steps
    if rate == 0:
        return 0.9
    if rate < 0.2 and ok > episode.failed_steps:
        return 1.0
    if rate < 0.4:
        return 0.6
    if rate < 0.6 and ok >= 1:
        return 0.4
    return 0.2


def _reflection_depth(reflection: Reflection | None) -> float:
    items = 0 if reflection is None else reflection.item_count
    return _bucket(items, ((0, 0.0), (2, 0.3), (5, 0.6), (10, 0.8)), 1.0)


def _novelty(findings: int) -> float:
    return _bucket(findings, ((0, 0.2), (2, 0.5), (5, 0.75)), 1.0)


def quality_score(episode: Episode, reflection: Reflection | None, findings: int) -> float:
    """Score an episode's learning value in [0, 1].

    Args:
        episode: The completed episode.
        reflection: Its reflection (computed before the gate).
        findings: Patterns plus heuristic candidates extracted from it.
    """
    score = (
        0.25 * _complexity(episode)
        + 0.20 * _diversity(episode)
        + 0.20 * _error_rate(episode)
        + 0.20 * _reflection_depth(reflection)
        + 0.15 * _novelty(findings)
    )
    return max(0.0, min(1.0, score))
