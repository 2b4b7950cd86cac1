"""Tables of the database search index (private).

The search index is maintained on PostgreSQL only (see `storage.search_index`); the tables
are declared on the common ``Base`` so the schema is the same everywhere, and the
PostgreSQL-only parts (the ``tsvector`` column and its GIN index) are added by
`create_postgresql_objects`.

- ``mc_search_docs``: one row per completed episode, with its terms by field (counts before
  the configurable weights apply, so the ranking knobs can change without re-indexing),
  the field lengths, and the columns ranking and filters read.
- ``mc_search_terms``: document frequency of every term of a namespace.
- ``mc_search_stats``: per namespace, the episodes indexed and the total field lengths.
- ``mc_search_postings``: one row per (namespace, term, episode), keyed by the term's
  weight (BM25 impact and the episode's reward) in the episode, so a search reads each
  query term's best episodes first, in index order (with the reward and end time the
  candidate order needs, on PostgreSQL as included columns of the key, so reading them
  touches the index only).
"""

from __future__ import annotations

import uuid

from sqlalchemy import (
    JSON,
    REAL,
    BigInteger,
    Float,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from memory_core.storage._schema import Base

__all__ = [
    "POSTINGS_KEY_POSTGRESQL",
    "POSTINGS_TABLE_POSTGRESQL",
    "SearchDocRow",
    "SearchPostingRow",
    "SearchStatsRow",
    "SearchTermRow",
    "create_postgresql_objects",
]

_JSON = JSON().with_variant(JSONB(), "postgresql")


class SearchDocRow(Base):
    """What ranking needs of one completed episode."""

    __tablename__ = "mc_search_docs"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    words: Mapped[dict[str, float]] = mapped_column(_JSON)
    """Description words and context terms: occurrences of each."""
    other: Mapped[dict[str, float]] = mapped_column(_JSON)
    """Tool and action terms (1 each), reflection and outcome terms (0.5 each)."""
    description_length: Mapped[float] = mapped_column(Float)
    context_length: Mapped[float] = mapped_column(Float)
    other_length: Mapped[float] = mapped_column(Float)
    context: Mapped[str] = mapped_column(Text)
    """The task context as JSON."""
    domain: Mapped[str] = mapped_column(String(200))
    """Lower-cased (the domain filter ignores case)."""
    task_type: Mapped[str] = mapped_column(String(40))
    outcome_kind: Mapped[str | None] = mapped_column(String(40))
    start_us: Mapped[int] = mapped_column(BigInteger)
    end_us: Mapped[int] = mapped_column(BigInteger)
    reward_total: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        ForeignKeyConstraint(
            ["namespace", "episode_id"],
            ["mc_episodes.namespace", "mc_episodes.episode_id"],
            ondelete="CASCADE",
        ),
    )


class SearchTermRow(Base):
    """How many indexed episodes of a namespace hold a term."""

    __tablename__ = "mc_search_terms"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    term: Mapped[str] = mapped_column(Text, primary_key=True)
    df: Mapped[int] = mapped_column(Integer)


class SearchStatsRow(Base):
    """Totals of a namespace's indexed episodes."""

    __tablename__ = "mc_search_stats"

    namespace: Mapped[str] = mapped_column(String(200), primary_key=True)
    doc_count: Mapped[int] = mapped_column(BigInteger)
    description_length: Mapped[float] = mapped_column(Float)
    context_length: Mapped[float] = mapped_column(Float)
    other_length: Mapped[float] = mapped_column(Float)
    impact_length: Mapped[float | None] = mapped_column(Float, nullable=True)
    """The average weighted length the postings' impacts assume (fixed at the first index)."""


class SearchPostingRow(Base):
    """One term of one indexed episode, keyed by its impact (see `storage.search_index`)."""

    __tablename__ = "mc_search_postings"

    namespace_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    """`storage.search_index.posting_key` of the namespace (compact: postings are many)."""
    term: Mapped[str] = mapped_column(Text, primary_key=True)
    weight: Mapped[float] = mapped_column(REAL, primary_key=True)
    """The order of the term's postings (`storage.search_index.posting_weight`)."""
    impact: Mapped[float] = mapped_column(REAL, primary_key=True)
    episode_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reward_total: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_us: Mapped[int] = mapped_column(BigInteger)


POSTINGS_TABLE_POSTGRESQL = """
CREATE TABLE IF NOT EXISTS mc_search_postings (
    namespace_key BIGINT NOT NULL,
    term TEXT NOT NULL,
    weight REAL NOT NULL,
    impact REAL NOT NULL,
    episode_id UUID NOT NULL,
    reward_total FLOAT,
    end_us BIGINT NOT NULL
)
"""
"""``mc_search_postings`` on PostgreSQL, without its key (`POSTINGS_KEY_POSTGRESQL`): the
key of postings filled in at once is built after them, in one sort."""

POSTINGS_KEY_POSTGRESQL = """
ALTER TABLE mc_search_postings ADD CONSTRAINT pk_mc_search_postings
    PRIMARY KEY (namespace_key, term, weight, impact, episode_id)
    INCLUDE (reward_total, end_us)
"""
"""The key of ``mc_search_postings`` on PostgreSQL: it includes the columns candidates are
ordered by."""


def create_postgresql_objects(connection: Connection) -> None:
    """Add the PostgreSQL-only parts of the search index (idempotent).

    ``mc_search_docs.lexemes`` is a ``tsvector`` of the episode's terms, each prefixed with
    a key of its namespace (so one GIN index serves every namespace and a lookup never
    reads another namespace's postings); built from the term list as-is, with no text
    search parser or dictionary in between.
    """
    connection.execute(text("ALTER TABLE mc_search_docs ADD COLUMN IF NOT EXISTS lexemes tsvector"))
    connection.execute(
        text(
            "CREATE INDEX IF NOT EXISTS ix_mc_search_docs_lexemes ON mc_search_docs "
            "USING gin (lexemes) WITH (fastupdate = on, gin_pending_list_limit = 256)"
        )
    )
