"""Schema 6: impact-ordered postings of the database search index.

``mc_search_postings`` (one row per namespace, term and episode, keyed by the term's
weight: its BM25 impact in the episode and the episode's reward) and
``mc_search_stats.impact_length`` (the average length the impacts assume). On PostgreSQL
the postings of the episodes already indexed are filled in from ``mc_search_docs``, then
their key is built (one sort, instead of inserting each posting into the key).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from memory_core.storage._search_schema import (
    POSTINGS_KEY_POSTGRESQL,
    POSTINGS_TABLE_POSTGRESQL,
)
from memory_core.storage.search_index import backfill_postings

__all__ = ["downgrade", "upgrade"]

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_version = sa.table("mc_schema_version", sa.column("id"), sa.column("version"))


def upgrade() -> None:
    """Create the postings (filled in on PostgreSQL), record version 6."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if "impact_length" not in {c["name"] for c in inspector.get_columns("mc_search_stats")}:
        op.add_column("mc_search_stats", sa.Column("impact_length", sa.Float, nullable=True))
    if "mc_search_postings" not in inspector.get_table_names():
        if bind.dialect.name == "postgresql":
            op.execute(POSTINGS_TABLE_POSTGRESQL)
            backfill_postings(bind)
            op.execute("SET LOCAL maintenance_work_mem = '256MB'")
            op.execute(POSTINGS_KEY_POSTGRESQL)
        else:
            op.create_table(
                "mc_search_postings",
                sa.Column("namespace_key", sa.BigInteger, primary_key=True),
                sa.Column("term", sa.Text, primary_key=True),
                sa.Column("weight", sa.REAL, primary_key=True),
                sa.Column("impact", sa.REAL, primary_key=True),
                sa.Column("episode_id", sa.Uuid, primary_key=True),
                sa.Column("reward_total", sa.Float, nullable=True),
                sa.Column("end_us", sa.BigInteger, nullable=False),
            )
    op.execute(_version.update().where(_version.c.id == 1).values(version=6))


def downgrade() -> None:
    """Not supported: memory-core only upgrades."""
    raise NotImplementedError("memory-core schemas are never downgraded")
