"""Advisors behind one interface: no memory, memory-core, and the peers users compare it with.

* `NoMemory`: never suggests anything (the agent always explores).
* `MemoryCoreAdvisor`: the whole memory-core loop through the public API: start the episode,
  ask `recommend_plan` for it, log the steps, complete it (learning runs as configured).
* `BM25Advisor`: what a user would write instead in twenty lines: `bm25s` over the task
  description plus its context words, replaying the tools of the best-ranked successful run.
  Needs ``pip install bm25s``.
* `EmbeddingAdvisor`: cosine similarity of embeddings from any `memory_core.Embedder`,
  replaying the tools of the most similar successful run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from memory_core.embeddings import Embedder
from memory_core.errors import MissingDependencyError
from memory_core.evaluation.agent import AgentRun
from memory_core.evaluation.world import Task
from memory_core.memory import SyncSelfLearningMemory
from memory_core.models import ExecutionResult, ExecutionStep, TaskContext, TaskOutcome

__all__ = [
    "BM25Advisor",
    "EmbeddingAdvisor",
    "MemoryCoreAdvisor",
    "NoMemory",
    "context_words",
    "solved_plan",
]


def context_words(context: TaskContext) -> str:
    """The context as plain words (domain, language, framework, tags) for text retrievers."""
    parts = [context.domain, context.language or "", context.framework or "", *context.tags]
    return " ".join(p for p in parts if p)


def solved_plan(run: AgentRun) -> tuple[str, ...]:
    """The tools of a run's successful steps, in order: what solved the task."""
    return tuple(step.tool for step in run.steps if step.error is None)


class NoMemory:
    """An agent without memory: never suggests a plan."""

    name = "no memory"

    def advise(self, task: Task) -> tuple[str, ...] | None:
        """Never a plan."""
        return None

    def record(self, task: Task, run: AgentRun) -> None:
        """Remembers nothing."""


class MemoryCoreAdvisor:
    """memory-core through its public API, as an agent loop uses it.

    Args:
        memory: The memory to use (any configuration).
        name: Row label in reports.
    """

    def __init__(self, memory: SyncSelfLearningMemory, name: str = "memory-core") -> None:
        self.memory = memory
        self.name = name
        self._episode: Any = None

    def advise(self, task: Task) -> tuple[str, ...] | None:
        """Start the task's episode and ask the memory for a plan for it."""
        self._episode = self.memory.start_episode(
            task.description, task.context, task.family.task_type
        )
        plan = self.memory.recommend_plan(task.description, task.context, episode_id=self._episode)
        return None if plan is None else tuple(plan.tools)

    def record(self, task: Task, run: AgentRun) -> None:
        """Log the run's steps and complete the episode."""
        episode_id = self._episode
        for step in run.steps:
            result = (
                ExecutionResult.success("done")
                if step.error is None
                else ExecutionResult.error(step.error)
            )
            self.memory.log_step(
                episode_id, ExecutionStep(tool=step.tool, action=step.action, result=result)
            )
        outcome = (
            TaskOutcome.success("task solved")
            if run.success
            else TaskOutcome.failure("ran out of steps")
        )
        self.memory.complete_episode(episode_id, outcome)


class BM25Advisor:
    """bm25s over description + context words; replays the best successful run's tools.

    Args:
        top_k: Ranked runs looked at for the first successful one.
        with_context: Index the context words with the description.
    """

    def __init__(self, top_k: int = 5, *, with_context: bool = True) -> None:
        try:
            import bm25s
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise MissingDependencyError("the BM25 peer needs bm25s: pip install bm25s") from exc
        self._bm25s = bm25s
        self.name = "bm25s" + (" + context words" if with_context else "")
        self._top_k = top_k
        self._with_context = with_context
        self._texts: list[str] = []
        self._plans: list[tuple[str, ...] | None] = []
        self._retriever: Any = None

    def _text(self, task: Task) -> str:
        if not self._with_context:
            return task.description
        return f"{task.description} {context_words(task.context)}"

    def advise(self, task: Task) -> tuple[str, ...] | None:
        """The tools of the best-ranked successful run among the top ``top_k``."""
        if self._retriever is None:
            return None
        tokens = self._bm25s.tokenize([self._text(task)], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return None
        k = min(self._top_k, len(self._texts))
        docs, scores = self._retriever.retrieve(tokens, k=k, show_progress=False)
        for doc, score in zip(docs[0], scores[0], strict=True):
            plan = self._plans[int(doc)]
            if score > 0 and plan is not None:
                return plan
        return None

    def record(self, task: Task, run: AgentRun) -> None:
        """Add the run to the corpus and rebuild the index (bm25s indexes are static)."""
        self._texts.append(self._text(task))
        self._plans.append(solved_plan(run) if run.success else None)
        tokens = self._bm25s.tokenize(self._texts, stopwords="en", show_progress=False)
        retriever = self._bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        self._retriever = retriever


class EmbeddingAdvisor:
    """Cosine similarity of embeddings; replays the most similar successful run's tools.

    Args:
        embedder: Any `memory_core.Embedder` (e.g. a sentence-transformers model wrapped by
            the LangChain or LlamaIndex bridges).
        name: Row label in reports.
    """

    def __init__(self, embedder: Embedder, name: str | None = None) -> None:
        self._embedder = embedder
        self.name = name or f"embeddings ({embedder.name})"
        self._vectors: list[np.ndarray[Any, Any]] = []
        self._plans: list[tuple[str, ...]] = []

    def _embed(self, task: Task) -> np.ndarray[Any, Any]:
        text = f"{task.description} {context_words(task.context)}"
        vector = np.asarray(self._embedder.embed([text])[0], np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def advise(self, task: Task) -> tuple[str, ...] | None:
        """The tools of the most similar successful run."""
        if not self._vectors:
            return None
        sims = np.stack(self._vectors) @ self._embed(task)
        return self._plans[int(np.argmax(sims))]

    def record(self, task: Task, run: AgentRun) -> None:
        """Remember successful runs."""
        if run.success:
            self._vectors.append(self._embed(task))
            self._plans.append(solved_plan(run))
