"""Schema 3: retrieval counts per episode (for retention) and the change feed by entity.

Also creates the episodes' browsing index where it is missing (it was added to existing
databases on open before schema changes were migrations).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["downgrade", "upgrade"]

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BROWSE = "ix_mc_episodes_ns_browse"
_version = sa.table("mc_schema_version", sa.column("id"), sa.column("version"))


def upgrade() -> None:
    """Create ``mc_episode_usage`` and the new indexes, record version 3."""
    inspector = sa.inspect(op.get_bind())
    if _BROWSE not in {i["name"] for i in inspector.get_indexes("mc_episodes")}:
        op.create_index(
            _BROWSE,
            "mc_episodes",
            [
                "namespace",
                "start_us",
                "outcome_kind",
                "task_type",
                "domain",
                "reward_total",
                "end_us",
                "episode_id",
            ],
        )
    if "mc_episode_usage" not in inspector.get_table_names():
        _create_usage()
    if "ix_mc_changes_ns_entity" not in {i["name"] for i in inspector.get_indexes("mc_changes")}:
        op.create_index("ix_mc_changes_ns_entity", "mc_changes", ["namespace", "entity_id"])
    op.execute(_version.update().where(_version.c.id == 1).values(version=3))


def _create_usage() -> None:
    op.create_table(
        "mc_episode_usage",
        sa.Column("namespace", sa.String(200), primary_key=True),
        sa.Column("episode_id", sa.String(36), primary_key=True),
        sa.Column("retrievals", sa.Integer, nullable=False),
        sa.Column("last_retrieved_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace", "episode_id"],
            ["mc_episodes.namespace", "mc_episodes.episode_id"],
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    """Not supported: memory-core only upgrades."""
    raise NotImplementedError("memory-core schemas are never downgraded")
