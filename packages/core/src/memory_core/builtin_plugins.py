"""memory-core's own behaviour, registered as a plugin through the public hooks.

The SQLAlchemy store, the identity re-ranker, the default reward scorer and the four
built-in pattern extractors all come in through the same hooks third-party plugins use.
They run last (``trylast``), so plugins can take over or wrap them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from memory_core.config import MemoryConfig
from memory_core.hookspecs import hookimpl
from memory_core.learning import PatternExtractor, RewardScorer, default_extractors
from memory_core.models import Episode, RetrievedEpisode, RewardScore, TaskContext
from memory_core.storage import EpisodeStore, SQLAlchemyEpisodeStore

__all__ = [
    "compute_reward",
    "make_episode_store",
    "register_pattern_extractors",
    "rerank_episodes",
]

_SQLALCHEMY_SCHEMES = ("sqlite", "postgresql", "postgres")


@hookimpl(trylast=True)
def make_episode_store(url: str, config: MemoryConfig) -> EpisodeStore | None:
    """The SQLAlchemy store for ``sqlite:`` and ``postgresql:`` URLs."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in _SQLALCHEMY_SCHEMES:
        return None
    return SQLAlchemyEpisodeStore(url)


@hookimpl(trylast=True)
def rerank_episodes(
    task_description: str, context: TaskContext, results: Sequence[RetrievedEpisode]
) -> list[RetrievedEpisode]:
    """The built-in ranking as it is (plugins wrap this to re-rank)."""
    return list(results)


@hookimpl(trylast=True)
def compute_reward(episode: Episode, config: MemoryConfig) -> RewardScore:
    """The reference reward formula (`memory_core.learning.RewardScorer`)."""
    return RewardScorer(config.reward).score(episode)


@hookimpl
def register_pattern_extractors(register: Callable[[PatternExtractor], None]) -> None:
    """The four built-in extractors: tool sequences, decisions, error recoveries, contexts."""
    for extractor in default_extractors():
        register(extractor)
