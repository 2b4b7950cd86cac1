"""Table definitions (private). Every table carries the namespace in its primary key.

Rows keep a few indexed columns for filtering plus the pydantic JSON of the object in
``data``, so reading back is exact (``model_validate_json``) and cheap.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 6
"""1: initial schema. 2: ``mc_heuristic_episodes`` (heuristic <-> episode links), back-filled
from the heuristics' evidence and the episodes' ``heuristic_ids``. 3: ``mc_episode_usage``
(retrieval counts) and the change feed indexed by entity. 4: the database search index
(``memory_core.storage._search_schema``). 5: ``mc_feed_horizon`` (how far each namespace's
change feed was trimmed). 6: impact-ordered postings of the search index
(``mc_search_postings``, PostgreSQL). Every change is an Alembic revision
in ``memory_core/storage/migrations/versions``; these models must match their result."""


class Base(DeclarativeBase):
    """Declarative base of memory-core's tables."""


class SchemaVersionRow(Base):
    __tablename__ = "mc_schema_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class EpisodeRow(Base):
    __tablename__ = "mc_episodes"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_type: Mapped[str] = mapped_column(String(40))
    domain: Mapped[str] = mapped_column(String(200))
    start_us: Mapped[int] = mapped_column(BigInteger)
    end_us: Mapped[int | None] = mapped_column(BigInteger)
    outcome_kind: Mapped[str | None] = mapped_column(String(40))
    reward_total: Mapped[float | None] = mapped_column(Float)
    learned: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_mc_episodes_ns_start", "namespace", "start_us"),
        Index("ix_mc_episodes_ns_domain", "namespace", "domain"),
        Index("ix_mc_episodes_ns_learned", "namespace", "learned", "end_us"),
        # covers the listing filters, counts and per-day aggregates (browsing, paging)
        Index(
            "ix_mc_episodes_ns_browse",
            "namespace",
            "start_us",
            "outcome_kind",
            "task_type",
            "domain",
            "reward_total",
            "end_us",
            "episode_id",
        ),
    )


class StepRow(Base):
    __tablename__ = "mc_steps"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    step_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    tool: Mapped[str] = mapped_column(String(500))
    success: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        ForeignKeyConstraint(
            ["namespace", "episode_id"],
            ["mc_episodes.namespace", "mc_episodes.episode_id"],
            ondelete="CASCADE",
        ),
    )


class PatternRow(Base):
    __tablename__ = "mc_patterns"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    pattern_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    domain: Mapped[str | None] = mapped_column(String(200))
    success_rate: Mapped[float] = mapped_column(Float)
    occurrence_count: Mapped[int] = mapped_column(Integer)
    updated_us: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_mc_patterns_ns_kind_domain", "namespace", "kind", "domain"),
        Index("ix_mc_patterns_ns_updated", "namespace", "updated_us"),
    )


class PatternEpisodeRow(Base):
    __tablename__ = "mc_pattern_episodes"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    pattern_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["namespace", "pattern_id"],
            ["mc_patterns.namespace", "mc_patterns.pattern_id"],
            ondelete="CASCADE",
        ),
        Index("ix_mc_pattern_episodes_episode", "namespace", "episode_id"),
    )


class HeuristicRow(Base):
    __tablename__ = "mc_heuristics"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    heuristic_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    updated_us: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[str] = mapped_column(Text)


class HeuristicEpisodeRow(Base):
    """Every episode a heuristic was learned from (uncapped, unlike its ``evidence``)."""

    __tablename__ = "mc_heuristic_episodes"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    heuristic_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["namespace", "heuristic_id"],
            ["mc_heuristics.namespace", "mc_heuristics.heuristic_id"],
            ondelete="CASCADE",
        ),
        Index("ix_mc_heuristic_episodes_episode", "namespace", "episode_id"),
    )


class ChangeRow(Base):
    __tablename__ = "mc_changes"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    namespace: Mapped[str] = mapped_column(String(200))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(10))

    __table_args__ = (
        Index("ix_mc_changes_ns_seq", "namespace", "seq"),
        Index("ix_mc_changes_ns_entity", "namespace", "entity_id"),
    )


class FeedHorizonRow(Base):
    """How far a namespace's change feed was trimmed: entries up to ``seq`` may be gone."""

    __tablename__ = "mc_feed_horizon"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class EpisodeEmbeddingRow(Base):
    """An episode's embedding for one embedder model (float32, little-endian bytes)."""

    __tablename__ = "mc_episode_embeddings"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        ForeignKeyConstraint(
            ["namespace", "episode_id"],
            ["mc_episodes.namespace", "mc_episodes.episode_id"],
            ondelete="CASCADE",
        ),
    )


class EpisodeUsageRow(Base):
    """How often retrieval returned an episode (written in batches, read by pruning)."""

    __tablename__ = "mc_episode_usage"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    retrievals: Mapped[int] = mapped_column(Integer)
    last_retrieved_us: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        ForeignKeyConstraint(
            ["namespace", "episode_id"],
            ["mc_episodes.namespace", "mc_episodes.episode_id"],
            ondelete="CASCADE",
        ),
    )
