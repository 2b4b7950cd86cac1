"""Storage: the `EpisodeStore` protocol, its SQLAlchemy implementation and the hot cache."""

from memory_core.storage.base import (
    Change,
    ChangeEntity,
    CountingStore,
    EpisodeQuery,
    EpisodeStore,
    HeuristicMerge,
    PatternMerge,
    PatternUpdate,
    WriteBatch,
)
from memory_core.storage.cache import HotCache
from memory_core.storage.sqlalchemy import SQLAlchemyEpisodeStore, normalize_database_url

__all__ = [
    "Change",
    "ChangeEntity",
    "CountingStore",
    "EpisodeQuery",
    "EpisodeStore",
    "HeuristicMerge",
    "HotCache",
    "PatternMerge",
    "PatternUpdate",
    "SQLAlchemyEpisodeStore",
    "WriteBatch",
    "normalize_database_url",
]
