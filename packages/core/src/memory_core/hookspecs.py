"""Every hook a memory-core plugin can implement.

A plugin is any object (usually a module) with functions decorated by :data:`hookimpl`
whose names match the specs below. Installed packages expose plugins through the
``memory_core`` entry-point group::

    [project.entry-points.memory_core]
    my_plugin = "my_package.plugin"

Hooks grouped by purpose:

* Registration: :func:`register_pattern_extractors`, :func:`register_embedders`.
* Selection (first non-None result wins): :func:`make_episode_store`.
* Wrapping (implement with ``@hookimpl(wrapper=True)`` to adjust the built-in result):
  :func:`compute_reward`, :func:`rerank_episodes`.
* Contribution: :func:`reflection_items`.
* Observation (return values ignored; failures are logged and counted, never raised):
  :func:`episode_started`, :func:`step_logged`, :func:`episode_completed`,
  :func:`patterns_learned`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from uuid import UUID

    from memory_core.config import MemoryConfig
    from memory_core.embeddings import Embedder
    from memory_core.learning import PatternExtractor
    from memory_core.models import (
        Episode,
        ExecutionStep,
        Pattern,
        RetrievedEpisode,
        RewardScore,
        TaskContext,
    )
    from memory_core.storage import EpisodeStore

__all__ = [
    "PROJECT_NAME",
    "compute_reward",
    "episode_completed",
    "episode_started",
    "hookimpl",
    "hookspec",
    "make_episode_store",
    "patterns_learned",
    "reflection_items",
    "register_embedders",
    "register_pattern_extractors",
    "rerank_episodes",
    "step_logged",
]

PROJECT_NAME = "memory_core"
"""The pluggy project name, which is also the entry-point group."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marker for hook specifications (used by this module only)."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Decorator for plugin hook implementations: ``@hookimpl`` or ``@hookimpl(wrapper=True)``."""


# ---------------------------------------------------------------- registration


@hookspec
def register_pattern_extractors(register: Callable[[PatternExtractor], None]) -> None:
    """Register pattern extractors that run on every completed episode.

    Call ``register(extractor)`` once per extractor. An extractor has a ``name`` and an
    ``extract(episode, config) -> list[Pattern]`` method (`memory_core.PatternExtractor`).
    The four built-in extractors are registered through this same hook. An extractor that
    raises is logged and counted; the episode and the other extractors' patterns are kept.

    :param register: Callback taking one extractor.
    """


@hookspec
def register_embedders(register: Callable[[str, Callable[[], Embedder]], None]) -> None:
    """Register embedders that ``MemoryConfig(embedder="name")`` can select.

    Call ``register(name, factory)``; the factory is called (with no arguments) only when a
    memory selects that name.

    :param register: Callback taking a name and a zero-argument factory returning an
        `memory_core.Embedder`.
    """


# ------------------------------------------------------------------- selection


@hookspec(firstresult=True)
def make_episode_store(url: str, config: MemoryConfig) -> EpisodeStore | None:
    """Return a store for a database URL, or None if the URL's scheme is not yours.

    Stops at first non-None result. The built-in SQLAlchemy store answers ``sqlite`` and
    ``postgresql`` URLs and runs last (``trylast``), so a plugin can take over any scheme.

    :param url: The configured ``database_url``.
    :param config: The memory's configuration.
    :return: An object implementing `memory_core.EpisodeStore`, or None.
    """


# -------------------------------------------------------------------- wrapping


@hookspec(firstresult=True)
def compute_reward(episode: Episode, config: MemoryConfig) -> RewardScore | None:
    """Compute the reward of a completed episode (before it is stored).

    Stops at first non-None result. The built-in scorer implements this hook last
    (``trylast``). To adjust its result, implement it as a new-style wrapper::

        @hookimpl(wrapper=True)
        def compute_reward(episode, config):
            reward = yield
            return reward.model_copy(update={"total": reward.total * 2})

    A wrapper that raises makes ``complete_episode`` raise `memory_core.PluginError`
    naming the plugin; nothing is stored then.

    :param episode: The episode with its outcome and end time set.
    :param config: The memory's configuration.
    :return: The reward.
    """


@hookspec(firstresult=True)
def rerank_episodes(
    task_description: str, context: TaskContext, results: Sequence[RetrievedEpisode]
) -> list[RetrievedEpisode] | None:
    """Re-rank episode search results (after the built-in ranking).

    Stops at first non-None result; the built-in implementation returns ``results``
    unchanged and runs last. Implement it as a wrapper (``@hookimpl(wrapper=True)``,
    ``ranked = yield``) to reorder, filter or re-score what the built-in ranking returned.

    :param task_description: The query.
    :param context: The query context.
    :param results: Ranked results, best first.
    :return: The results to return, best first.
    """


# ---------------------------------------------------------------- contribution


@hookspec
def reflection_items(episode: Episode) -> Mapping[str, Sequence[str]] | None:
    """Add sentences to an episode's reflection.

    Return a mapping with any of the keys ``"successes"``, ``"improvements"``,
    ``"insights"``; the sentences are appended after the built-in ones (each list is
    still capped at five).

    :param episode: The completed episode (reward set).
    :return: Extra reflection sentences by category, or None.
    """


# ----------------------------------------------------------------- observation


@hookspec
def episode_started(episode: Episode, namespace: str) -> None:
    """Called after an episode is started.

    :param episode: The new, in-flight episode (do not mutate).
    :param namespace: The memory's namespace.
    """


@hookspec
def step_logged(episode_id: UUID, step: ExecutionStep, namespace: str) -> None:
    """Called after a step is appended to an episode (keep it cheap: this is a hot path).

    :param episode_id: The episode.
    :param step: The step, with its step number.
    :param namespace: The memory's namespace.
    """


@hookspec
def episode_completed(episode: Episode, namespace: str) -> None:
    """Called after an episode is completed and durably stored.

    :param episode: The stored episode with reward and reflection.
    :param namespace: The memory's namespace.
    """


@hookspec
def patterns_learned(episode: Episode, patterns: Sequence[Pattern], namespace: str) -> None:
    """Called after pattern extraction for an episode has stored its patterns.

    :param episode: The episode the patterns were learned from.
    :param patterns: The stored (possibly merged) patterns.
    :param namespace: The memory's namespace.
    """
