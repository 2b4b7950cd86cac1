"""The four built-in pattern extractors and the `PatternExtractor` protocol plugins implement.

Extraction is pure and deterministic: the same episode always yields the same patterns
(`extract_patterns` derives pattern ids from the episode id and each pattern's similarity
key, and timestamps from the episode's end time), so re-learning an episode after a crash
is recognisable.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from hashlib import sha1
from typing import Protocol, runtime_checkable
from uuid import NAMESPACE_URL, UUID

from memory_core.config import LearningConfig
from memory_core.learning.similarity import similarity_key
from memory_core.learning.text import error_signature, is_decision
from memory_core.models import (
    ContextPattern,
    DecisionPoint,
    Episode,
    ErrorRecovery,
    OutcomeStats,
    Pattern,
    PatternEffectiveness,
    TaskContext,
    ToolSequence,
    utcnow,
)

__all__ = [
    "ContextPatternExtractor",
    "DecisionPointExtractor",
    "ErrorRecoveryExtractor",
    "PatternExtractor",
    "ToolSequenceExtractor",
    "context_features",
    "default_extractors",
    "extract_patterns",
    "name_uuid",
    "outcome_weight",
]

_MAX_TEXT = 200
MAX_RECOVERY_STEPS = 10
"""Recovery steps kept per error-recovery pattern."""


@runtime_checkable
class PatternExtractor(Protocol):
    """Mines one kind of pattern from a completed episode.

    Implementations must be pure and deterministic (no I/O, same input -> same output) and
    cheap: they run for every completed episode.
    """

    name: str
    """Short unique name, used in logs."""

    def extract(self, episode: Episode, config: LearningConfig) -> list[Pattern]:
        """Return the patterns found in ``episode`` (empty when none)."""
        ...


def outcome_weight(episode: Episode) -> float:
    """How well the task went: success 1.0, partial its completed share, otherwise 0.0."""
    outcome = episode.outcome
    if outcome is None:
        return 0.0
    if outcome.kind == "success":
        return 1.0
    if outcome.kind == "partial_success":
        done, failed = len(outcome.completed), len(outcome.failed)
        return done / (done + failed) if done + failed else 0.5
    return 0.0


def context_features(context: TaskContext) -> list[str]:
    """``language:x``, ``framework:y``, ``domain:z``, ``complexity:c`` and ``tag:t`` features."""
    features: list[str] = []
    if context.language:
        features.append(f"language:{context.language.lower()}")
    if context.framework:
        features.append(f"framework:{context.framework.lower()}")
    features.append(f"domain:{context.domain.lower()}")
    features.append(f"complexity:{context.complexity.value}")
    features.extend(f"tag:{tag}" for tag in sorted(context.tags))
    return features


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1].rstrip() + "…"


_URL_NAMESPACE = NAMESPACE_URL.bytes
_VERSION_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)
_VERSION_5 = (5 << 76) | (0x8000 << 48)


def name_uuid(name: str) -> UUID:
    """``uuid5(NAMESPACE_URL, name)``, without the standard library's per-call overhead."""
    digest = int.from_bytes(sha1(_URL_NAMESPACE + name.encode()).digest()[:16], "big")
    return UUID(int=(digest & _VERSION_MASK) | _VERSION_5)


def _finish(
    episode: Episode, prefix: str, key: str, pattern: Pattern, effectiveness: PatternEffectiveness
) -> Pattern:
    """Give a freshly extracted pattern its deterministic id, evidence and timestamps.

    ``prefix`` is ``"memory-core:<episode id>:"``; ``effectiveness`` the fresh record every
    pattern of the episode starts with (shared: records are replaced, never changed).
    """
    when = effectiveness.created_at
    return pattern.model_copy(
        update={
            "pattern_id": name_uuid(prefix + key),
            "evidence": pattern.evidence or [episode.episode_id],
            "created_at": when,
            "updated_at": when,
            "effectiveness": effectiveness,
        }
    )


class ToolSequenceExtractor:
    """The first ``max_sequence_length`` tools of an episode whose steps mostly succeeded.

    Success rate: the step success rate scaled by how well the task went
    (`outcome_weight`), so a sequence that leads to failed tasks ranks lower once merged.
    """

    name = "tool_sequence"

    def extract(self, episode: Episode, config: LearningConfig) -> list[Pattern]:
        """See the class docstring."""
        steps = episode.steps
        if not steps or episode.step_success_rate < config.extraction_threshold:
            return []
        head = steps[: config.max_sequence_length]
        pattern = ToolSequence(
            tools=[s.tool for s in head],
            success_rate=episode.step_success_rate * outcome_weight(episode),
            avg_latency_ms=sum(s.latency_ms for s in steps) / len(steps),
            context=episode.context,
        )
        return [pattern]


class DecisionPointExtractor:
    """Steps whose action reads like a decision or check ("check if ...", "verify ...").

    Keywords match whole words or word prefixes, never inside another word. Each match
    records the action as the condition, the tool as the action, and the step's result.
    """

    name = "decision_point"

    def extract(self, episode: Episode, config: LearningConfig) -> list[Pattern]:
        """See the class docstring."""
        if not episode.steps or episode.step_success_rate < config.extraction_threshold:
            return []
        out: list[Pattern] = []
        for step in episode.steps:
            if not is_decision(step.action):
                continue
            ok = step.is_success
            pattern = DecisionPoint(
                condition=_short(step.action),
                action=_short(step.tool),
                outcome_stats=OutcomeStats(
                    success_count=int(ok),
                    failure_count=int(not ok),
                    total_count=1,
                    avg_duration_secs=step.latency_ms / 1000.0,
                ),
                context=episode.context,
            )
            out.append(pattern)
        return out


class ErrorRecoveryExtractor:
    """A failed step followed by a successful one, grouped by normalised error signature.

    One pattern per distinct signature in the episode; its recovery steps are the
    ``"tool: action"`` of the steps that recovered. Needs a step success rate of at least
    ``error_recovery_threshold``; the success rate is `outcome_weight`.
    """

    name = "error_recovery"

    def extract(self, episode: Episode, config: LearningConfig) -> list[Pattern]:
        """See the class docstring."""
        steps = episode.steps
        if len(steps) < 2 or episode.step_success_rate < config.error_recovery_threshold:
            return []
        groups: dict[str, list[str]] = {}
        for failed, fixed in itertools.pairwise(steps):
            if failed.is_success or not fixed.is_success:
                continue
            signature = error_signature(failed.error_message or "no result")
            recovery = _short(f"{fixed.tool}: {fixed.action}")
            bucket = groups.setdefault(signature, [])
            if recovery not in bucket and len(bucket) < MAX_RECOVERY_STEPS:
                bucket.append(recovery)
        rate = outcome_weight(episode)
        return [
            ErrorRecovery(
                error_type=signature,
                recovery_steps=recovery_steps,
                success_rate=rate,
                context=episode.context,
            )
            for signature, recovery_steps in groups.items()
        ]


class ContextPatternExtractor:
    """The task's context features (tags included) and the task type that was run in it."""

    name = "context_pattern"

    def extract(self, episode: Episode, config: LearningConfig) -> list[Pattern]:
        """See the class docstring."""
        if not episode.is_complete or not (episode.steps or outcome_weight(episode) > 0):
            return []
        pattern = ContextPattern(
            context_features=context_features(episode.context),
            recommended_approach=episode.task_type.value,
            success_rate=outcome_weight(episode),
            context=episode.context,
        )
        return [pattern]


def default_extractors() -> list[PatternExtractor]:
    """The four built-in extractors, in a fixed order."""
    return [
        ToolSequenceExtractor(),
        DecisionPointExtractor(),
        ErrorRecoveryExtractor(),
        ContextPatternExtractor(),
    ]


def extract_patterns(
    episode: Episode,
    config: LearningConfig,
    extractors: Sequence[PatternExtractor],
    *,
    on_error: Callable[[PatternExtractor, Exception], None] | None = None,
) -> list[Pattern]:
    """Run every extractor on a completed episode and fold same-key patterns together.

    Every returned pattern gets an id derived from the episode id and its similarity key,
    the episode as evidence (unless the extractor set some) and the episode's end time as
    its timestamps, so extraction is deterministic. Returns an empty list for an incomplete
    episode.

    Args:
        episode: The completed episode.
        config: Extraction thresholds.
        extractors: Extractors to run, in order.
        on_error: Called with an extractor that raised and its exception; that extractor's
            patterns are skipped and the others kept. Without it, the exception propagates.
    """
    from memory_core.learning.merging import merge_into

    if not episode.is_complete:
        return []
    by_key: dict[str, Pattern] = {}
    for extractor in extractors:
        try:
            found = extractor.extract(episode, config)
        except Exception as exc:
            if on_error is None:
                raise
            on_error(extractor, exc)
            continue
        for pattern in found:
            key = similarity_key(pattern)
            known = by_key.get(key)
            by_key[key] = pattern if known is None else merge_into(known, pattern)
    if not by_key:
        return []
    prefix = f"memory-core:{episode.episode_id}:"
    effectiveness = PatternEffectiveness(created_at=episode.end_time or utcnow())
    return [
        _finish(episode, prefix, key, pattern, effectiveness) for key, pattern in by_key.items()
    ]
