"""Heuristics: condition -> action rules learned across episodes.

Every completed episode proposes candidate rules (a successful decision step and what
followed it; an error signature and the step that recovered from it). Candidates with the
same normalised condition and action merge across episodes: their evidence accumulates,
``sample_size`` counts the episodes and ``success_count`` those that went well, so the
confidence ``success_rate * sqrt(sample_size)`` grows with repeated success and falls with
failures. A failed episode never creates a rule; it only counts against rules created by
episodes that ended before it (so learning it again decides the same way).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from uuid import UUID

from memory_core.learning.extractors import name_uuid, outcome_weight
from memory_core.learning.merging import lists_episode, merge_evidence
from memory_core.learning.text import error_signature, is_decision
from memory_core.models import Episode, ExecutionStep, Heuristic, TaskContext, utcnow

__all__ = [
    "HeuristicMerger",
    "heuristic_candidates",
    "heuristic_key",
    "heuristic_relevance",
    "rank_heuristics",
]

_MAX_TEXT = 200


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1].rstrip() + "…"


def _key(condition: str, action: str) -> str:
    return (
        f"{error_signature(condition, max_length=10_000)}"
        f"=>{error_signature(action, max_length=10_000)}"
    )


def heuristic_key(heuristic: Heuristic) -> str:
    """The merge key: condition and action with numbers, paths, quotes and case removed."""
    return _key(heuristic.condition, heuristic.action)


def _scope(context: TaskContext) -> str:
    scope = f"In {context.domain} tasks"
    if context.language:
        scope += f" using {context.language}"
    return scope


def _follow_up(steps: Sequence[ExecutionStep], index: int) -> str:
    if index + 1 < len(steps):
        nxt = steps[index + 1]
        return f"use {nxt.tool} to {nxt.action}"
    return f"use {steps[index].tool}"


def heuristic_candidates(episode: Episode) -> list[Heuristic]:
    """Candidate rules proposed by one completed episode (one per distinct key)."""
    if not episode.is_complete:
        return []
    steps = episode.steps
    scope = _scope(episode.context)
    proposals: list[tuple[str, str]] = []
    for index, step in enumerate(steps):
        if step.is_success and is_decision(step.action):
            proposals.append(
                (f"{scope}, when the step is to {step.action}", _follow_up(steps, index))
            )
    for failed, fixed in itertools.pairwise(steps):
        if not failed.is_success and fixed.is_success:
            signature = error_signature(failed.error_message or "no result")
            proposals.append(
                (
                    f"{scope}, when a step fails with {signature}",
                    f"recover with {fixed.tool}: {fixed.action}",
                )
            )
    unique: dict[str, tuple[str, str]] = {}
    for condition, action in proposals:
        condition, action = _clip(condition), _clip(action)
        unique.setdefault(_key(condition, action), (condition, action))
    if not unique:
        return []
    success = int(outcome_weight(episode) >= 0.5)
    when = episode.end_time or utcnow()
    prefix = f"memory-core:heuristic:{episode.episode_id}:"
    return [
        Heuristic(
            heuristic_id=name_uuid(prefix + key),
            condition=condition,
            action=action,
            context=episode.context,
            evidence=[episode.episode_id],
            success_count=success,
            sample_size=1,
            created_at=when,
            updated_at=when,
        )
        for key, (condition, action) in unique.items()
    ]


class HeuristicMerger:
    """The merge function handed to `EpisodeStore.merge_heuristics` for one episode.

    Same-key heuristics merge (counts add, evidence accumulates). Idempotent per episode like
    `PatternMerger`: the store does not merge into a heuristic already linked to the episode,
    and (the fallback for stores without links) neither does an episode already in a
    heuristic's evidence count twice.
    """

    def __init__(self, episode_id: UUID) -> None:
        self.episode_id = episode_id

    def __call__(self, new: Heuristic, stored: Sequence[Heuristic]) -> Heuristic | None:
        """Return the merged stored heuristic, or None to insert ``new``."""
        key = heuristic_key(new)
        return self.resolve(new, next((h for h in stored if heuristic_key(h) == key), None))

    def resolve(self, new: Heuristic, match: Heuristic | None) -> Heuristic | None:
        """Like calling the merger, with the stored same-key heuristic already found."""
        if match is None:
            return None
        if lists_episode(match.evidence, self.episode_id):
            return match
        return match.model_copy(
            update={
                "success_count": match.success_count + new.success_count,
                "sample_size": match.sample_size + new.sample_size,
                "evidence": merge_evidence(match.evidence, new.evidence),
                "updated_at": max(match.updated_at, new.updated_at),
            }
        )


def heuristic_relevance(heuristic: Heuristic, context: TaskContext) -> float:
    """How well a heuristic's context fits a task context.

    0.1 baseline, +1.0 same domain, +0.8 same language, +0.5 same framework, +0.3 per shared
    tag.
    """
    score = 0.1
    own = heuristic.context
    if own is None:
        return score
    if own.domain.lower() == context.domain.lower():
        score += 1.0
    if own.language and context.language and own.language.lower() == context.language.lower():
        score += 0.8
    if own.framework and context.framework and own.framework.lower() == context.framework.lower():
        score += 0.5
    return score + 0.3 * len(set(own.tags) & set(context.tags))


def rank_heuristics(
    heuristics: Sequence[Heuristic],
    context: TaskContext,
    *,
    min_samples: int,
    min_confidence: float,
    limit: int,
) -> list[Heuristic]:
    """Heuristics with enough evidence, best first by ``relevance * confidence``."""
    eligible = [
        h for h in heuristics if h.sample_size >= min_samples and h.confidence >= min_confidence
    ]
    eligible.sort(
        key=lambda h: (-heuristic_relevance(h, context) * h.confidence, str(h.heuristic_id))
    )
    return eligible[:limit]
