"""Schema 4: the database search index.

``mc_search_docs``, ``mc_search_terms`` and ``mc_search_stats``, maintained on PostgreSQL;
there also a ``tsvector`` column of each episode's terms and its GIN index.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from memory_core.storage._search_schema import create_postgresql_objects

__all__ = ["downgrade", "upgrade"]

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_version = sa.table("mc_schema_version", sa.column("id"), sa.column("version"))
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create the search index tables (and the PostgreSQL-only parts), record version 4."""
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "mc_search_docs" not in tables:
        op.create_table(
            "mc_search_docs",
            sa.Column("namespace", sa.String(200), primary_key=True),
            sa.Column("episode_id", sa.String(36), primary_key=True),
            sa.Column("words", _JSON, nullable=False),
            sa.Column("other", _JSON, nullable=False),
            sa.Column("description_length", sa.Float, nullable=False),
            sa.Column("context_length", sa.Float, nullable=False),
            sa.Column("other_length", sa.Float, nullable=False),
            sa.Column("context", sa.Text, nullable=False),
            sa.Column("domain", sa.String(200), nullable=False),
            sa.Column("task_type", sa.String(40), nullable=False),
            sa.Column("outcome_kind", sa.String(40), nullable=True),
            sa.Column("start_us", sa.BigInteger, nullable=False),
            sa.Column("end_us", sa.BigInteger, nullable=False),
            sa.Column("reward_total", sa.Float, nullable=True),
            sa.ForeignKeyConstraint(
                ["namespace", "episode_id"],
                ["mc_episodes.namespace", "mc_episodes.episode_id"],
                ondelete="CASCADE",
            ),
        )
    if "mc_search_terms" not in tables:
        op.create_table(
            "mc_search_terms",
            sa.Column("namespace", sa.String(200), primary_key=True),
            sa.Column("term", sa.Text, primary_key=True),
            sa.Column("df", sa.Integer, nullable=False),
        )
    if "mc_search_stats" not in tables:
        op.create_table(
            "mc_search_stats",
            sa.Column("namespace", sa.String(200), primary_key=True),
            sa.Column("doc_count", sa.BigInteger, nullable=False),
            sa.Column("description_length", sa.Float, nullable=False),
            sa.Column("context_length", sa.Float, nullable=False),
            sa.Column("other_length", sa.Float, nullable=False),
        )
    if op.get_bind().dialect.name == "postgresql":
        create_postgresql_objects(op.get_bind())
    op.execute(_version.update().where(_version.c.id == 1).values(version=4))


def downgrade() -> None:
    """Not supported: memory-core only upgrades."""
    raise NotImplementedError("memory-core schemas are never downgraded")
