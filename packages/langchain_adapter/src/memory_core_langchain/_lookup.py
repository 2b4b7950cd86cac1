"""Looking up past experience through either facade, and rendering it as Documents.

The retrievers, the memory tool and the middleware all search the same way: the async
facade's coroutines on async paths when the user gave a `SelfLearningMemory`, the blocking
methods otherwise. Prompt text comes from `memory_core.format_lessons`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from uuid import UUID

from langchain_core.documents import Document

from memory_core import (
    RecommendedPlan,
    RetrievedEpisode,
    RetrievedPattern,
    SelfLearningMemory,
    SyncSelfLearningMemory,
    TaskContext,
    episode_metadata,
    format_episode,
    format_pattern,
    pattern_metadata,
)

__all__ = [
    "AnyMemory",
    "Found",
    "Lookup",
    "episode_documents",
    "pattern_documents",
]

AnyMemory = SelfLearningMemory | SyncSelfLearningMemory


class Found(NamedTuple):
    """What one lookup found (empty for the parts it was not asked for)."""

    episodes: list[RetrievedEpisode]
    patterns: list[RetrievedPattern]
    plan: RecommendedPlan | None = None


@dataclass(frozen=True, slots=True)
class Lookup:
    """One search of the memory: episodes for a task, patterns for a context, and the plan.

    With ``plan`` the recommended plan for the task is asked too (recorded on
    ``episode_id``'s episode when given, so a plan that fails ranks lower next time).
    """

    task: str
    context: TaskContext | None
    episodes: int
    patterns: int
    filters: Mapping[str, Any] = field(default_factory=dict)
    episode_id: UUID | None = None
    plan: bool = False

    def run(self, memory: AnyMemory) -> Found:
        """Search with the blocking view of ``memory``."""
        sync = memory.sync
        plan = (
            sync.recommend_plan(self.task, self.context, episode_id=self.episode_id)
            if self.plan
            else None
        )
        episodes = (
            sync.search_episodes(self.task, self.context, self.episodes, **self.filters)
            if self.episodes > 0
            else []
        )
        patterns = (
            sync.search_patterns(
                self.context, self.patterns, task_description=self.task, episode_id=self.episode_id
            )
            if self.patterns > 0
            else []
        )
        return Found(episodes, patterns, plan)

    async def arun(self, memory: AnyMemory) -> Found:
        """Search natively with the async facade, or in a worker thread for the blocking one."""
        if not isinstance(memory, SelfLearningMemory):
            return await asyncio.to_thread(self.run, memory)
        plan = (
            await memory.recommend_plan(self.task, self.context, episode_id=self.episode_id)
            if self.plan
            else None
        )
        episodes = (
            await memory.search_episodes(self.task, self.context, self.episodes, **self.filters)
            if self.episodes > 0
            else []
        )
        patterns = (
            await memory.search_patterns(
                self.context, self.patterns, task_description=self.task, episode_id=self.episode_id
            )
            if self.patterns > 0
            else []
        )
        return Found(episodes, patterns, plan)


def episode_documents(found: list[RetrievedEpisode]) -> list[Document]:
    """One `Document` per retrieved episode (LLM-ready text, ids/reward/score metadata)."""
    return [
        Document(
            page_content=format_episode(r.episode),
            metadata=episode_metadata(r),
            id=str(r.episode.episode_id),
        )
        for r in found
    ]


def pattern_documents(found: list[RetrievedPattern]) -> list[Document]:
    """One `Document` per retrieved pattern."""
    return [
        Document(
            page_content=format_pattern(r.pattern),
            metadata=pattern_metadata(r),
            id=str(r.pattern.pattern_id),
        )
        for r in found
    ]
