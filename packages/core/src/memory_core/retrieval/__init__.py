"""Retrieval: ranking past episodes and patterns for a new task."""

from memory_core.retrieval.engine import RetrievalEngine
from memory_core.retrieval.filters import EpisodeFilters
from memory_core.retrieval.index import EpisodeHit, EpisodeIndex
from memory_core.retrieval.patterns import PatternHit, PatternRanker
from memory_core.retrieval.tokenize import tokenize

__all__ = [
    "EpisodeFilters",
    "EpisodeHit",
    "EpisodeIndex",
    "PatternHit",
    "PatternRanker",
    "RetrievalEngine",
    "tokenize",
]
