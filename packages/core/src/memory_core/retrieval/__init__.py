"""Retrieval: ranking past episodes and patterns for a new task."""

from memory_core.retrieval.engine import EpisodeFilters, RetrievalEngine

__all__ = ["EpisodeFilters", "RetrievalEngine"]
