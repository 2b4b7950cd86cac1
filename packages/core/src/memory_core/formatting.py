"""Compact, LLM-ready text for episodes and patterns, shared by every adapter.

Framework adapters (LangChain documents, LlamaIndex nodes, memory tools, prompt
injection) all render memory through these functions, so the text an agent sees is the
same whichever framework it runs in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memory_core.models import (
    Episode,
    Pattern,
    RecommendedPlan,
    RetrievedEpisode,
    RetrievedPattern,
)

__all__ = [
    "LESSONS_HEADER",
    "NO_LESSONS",
    "clip_bytes",
    "episode_metadata",
    "format_episode",
    "format_lessons",
    "format_plan",
    "format_pattern",
    "pattern_metadata",
]

LESSONS_HEADER = "Relevant past experience from memory (use it if it helps):"
"""The first line of `format_lessons`' text."""

NO_LESSONS = "No relevant past experience found."
"""What a memory tool answers when `format_lessons` has nothing to show."""

_MAX_ERROR_CHARS = 160
_CLIP_MARKER = " …[truncated]"


def clip_bytes(text: str, max_bytes: int) -> str:
    """Cut ``text`` so that its UTF-8 encoding fits in ``max_bytes``, marking the cut.

    Text that fits is returned unchanged. A cut text never splits a character and ends
    with `` …[truncated]`` when ``max_bytes`` leaves room for it (30 bytes or more).

    Example:
        >>> clip_bytes("short", 10)
        'short'
        >>> clip_bytes("a" * 50, 40)
        'aaaaaaaaaaaaaaaaaaaaaaaaa …[truncated]'
    """
    if len(text) * 4 <= max_bytes:  # fits whatever the characters: skip the encoding
        return text
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    marker = _CLIP_MARKER if max_bytes >= 2 * len(_CLIP_MARKER.encode()) else ""
    keep = max(0, max_bytes - len(marker.encode()))
    return data[:keep].decode(errors="ignore") + marker


def _clip(text: str, limit: int = _MAX_ERROR_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_episode(episode: Episode) -> str:
    """Render an episode as a few lines an LLM can use as a lesson.

    Covers the task, its context, the outcome (with reward), the tool sequence, key errors
    and how they were recovered from, and the reflection's insights and improvements.
    """
    ctx = episode.context
    context_bits = [f"domain={ctx.domain}", f"complexity={ctx.complexity.value}"]
    if ctx.language:
        context_bits.append(f"language={ctx.language}")
    if ctx.framework:
        context_bits.append(f"framework={ctx.framework}")
    if ctx.tags:
        context_bits.append("tags=" + ",".join(ctx.tags))
    lines = [
        f"Past task ({episode.task_type.value}): {_clip(episode.task_description, 300)}",
        f"Context: {', '.join(context_bits)}",
    ]
    if episode.outcome is not None:
        outcome = _clip(episode.outcome.summary, 200)
        if episode.reward is not None:
            outcome += f" (reward {episode.reward.total:.2f})"
        lines.append(f"Outcome: {outcome}")
    if episode.steps:
        tools: list[str] = []
        for step in episode.steps:
            if not tools or tools[-1] != step.tool:
                tools.append(step.tool)
        ok = episode.successful_steps
        lines.append(f"Tools: {' -> '.join(tools)} ({ok}/{len(episode.steps)} steps succeeded)")
        recoveries: list[str] = []
        for before, after in zip(episode.steps, episode.steps[1:], strict=False):
            if not before.is_success and after.is_success:
                error = _clip(before.error_message or "no result")
                recoveries.append(f"{before.tool} failed ({error}); recovered with {after.tool}")
        errors = [
            f"{s.tool}: {_clip(s.error_message or 'no result')}"
            for s in episode.steps
            if not s.is_success and s.result is not None
        ]
        if recoveries:
            lines.append("Recovered: " + "; ".join(recoveries[:3]))
        elif errors:
            lines.append("Errors: " + "; ".join(errors[:3]))
    if episode.reflection is not None:
        if episode.reflection.insights:
            lines.append("Insights: " + " ".join(episode.reflection.insights[:3]))
        if episode.reflection.improvements:
            lines.append("Improve: " + " ".join(episode.reflection.improvements[:2]))
    return "\n".join(lines)


def format_pattern(pattern: Pattern) -> str:
    """Render a pattern as one or two lines an LLM can act on."""
    where = f" in {pattern.domain}" if pattern.domain else ""
    rate = f"{pattern.success_rate:.0%} success over {pattern.sample_size} runs"
    if pattern.kind == "tool_sequence":
        return f"Tool sequence{where}: {' -> '.join(pattern.tools)} ({rate})"
    if pattern.kind == "decision_point":
        return f"Decision{where}: when '{pattern.condition}', use {pattern.action} ({rate})"
    if pattern.kind == "error_recovery":
        steps = "; ".join(pattern.recovery_steps[:3])
        return f"Error recovery{where}: on '{_clip(pattern.error_type)}', do {steps} ({rate})"
    features = ", ".join(pattern.context_features)
    return f"For context [{features}]: {pattern.recommended_approach} ({rate})"


def episode_metadata(result: RetrievedEpisode | Episode) -> dict[str, Any]:
    """JSON-friendly metadata for a retrieved episode (ids, reward, score breakdown)."""
    episode = result.episode if isinstance(result, RetrievedEpisode) else result
    meta: dict[str, Any] = {
        "source": "memory-core",
        "type": "episode",
        "episode_id": str(episode.episode_id),
        "task_type": episode.task_type.value,
        "domain": episode.context.domain,
        "outcome": episode.outcome.kind if episode.outcome else None,
        "reward": episode.reward.total if episode.reward else None,
    }
    if isinstance(result, RetrievedEpisode):
        meta["score"] = result.score
        meta["score_breakdown"] = dict(result.breakdown)
    return meta


def pattern_metadata(result: RetrievedPattern | Pattern) -> dict[str, Any]:
    """JSON-friendly metadata for a retrieved pattern (id, kind, rates, score breakdown)."""
    pattern = result.pattern if isinstance(result, RetrievedPattern) else result
    meta: dict[str, Any] = {
        "source": "memory-core",
        "type": "pattern",
        "pattern_id": str(pattern.pattern_id),
        "kind": pattern.kind,
        "domain": pattern.domain,
        "success_rate": pattern.success_rate,
        "sample_size": pattern.sample_size,
    }
    if isinstance(result, RetrievedPattern):
        meta["score"] = result.score
        meta["score_breakdown"] = dict(result.breakdown)
    return meta


def format_plan(plan: RecommendedPlan) -> str:
    """Render a recommended plan as the line an LLM should act on first."""
    runs = "run" if plan.support == 1 else "runs"
    if plan.success_rate == 0:  # only failed attempts so far: the steps that worked in them
        return (
            f"Partial plan: {' -> '.join(plan.tools)}, then explore (the steps that worked "
            f"in {plan.support} similar failed {runs}, none solved yet; e.g. "
            f"'{_clip(plan.task_description, 120)}')"
        )
    return (
        f"Recommended plan: {' -> '.join(plan.tools)} (worked in {plan.support} similar "
        f"{runs}, {plan.success_rate:.0%} success, confidence {plan.confidence:.2f}; "
        f"e.g. '{_clip(plan.task_description, 120)}')"
    )


def format_lessons(
    episodes: Sequence[RetrievedEpisode | Episode],
    patterns: Sequence[RetrievedPattern | Pattern] = (),
    *,
    plan: RecommendedPlan | None = None,
) -> str:
    """The recommended plan, past episodes and patterns as one prompt section ("" if none).

    The text every adapter shows an agent (prompt injection, memory tools): a header
    line, the plan (`format_plan`) if memory has one, each episode as ``[n]`` +
    `format_episode`, then the patterns as a bullet list of `format_pattern` lines.
    Retrieval results and bare models are both accepted.

    Example:
        >>> format_lessons([], [])
        ''
    """
    if not episodes and not patterns and plan is None:
        return ""
    parts = [LESSONS_HEADER]
    if plan is not None:
        parts.append(format_plan(plan))
    for i, item in enumerate(episodes, 1):
        episode = item.episode if isinstance(item, RetrievedEpisode) else item
        parts.append(f"[{i}] {format_episode(episode)}")
    if patterns:
        lines = (
            format_pattern(item.pattern if isinstance(item, RetrievedPattern) else item)
            for item in patterns
        )
        parts.append("Learned patterns:\n" + "\n".join(f"- {line}" for line in lines))
    return "\n\n".join(parts)
