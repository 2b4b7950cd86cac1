"""Schema 1: the tables of the first released version.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["downgrade", "upgrade"]

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def _key(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(36), primary_key=True)


def _namespace() -> sa.Column[str]:
    return sa.Column("namespace", sa.String(200), primary_key=True)


def upgrade() -> None:
    """Create the schema 1 tables and record version 1."""
    version = op.create_table(
        "mc_schema_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.bulk_insert(version, [{"id": 1, "version": 1}])
    op.create_table(
        "mc_episodes",
        _namespace(),
        _key("episode_id"),
        sa.Column("task_type", sa.String(40), nullable=False),
        sa.Column("domain", sa.String(200), nullable=False),
        sa.Column("start_us", sa.BigInteger, nullable=False),
        sa.Column("end_us", sa.BigInteger),
        sa.Column("outcome_kind", sa.String(40)),
        sa.Column("reward_total", sa.Float),
        sa.Column("learned", sa.Boolean, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_mc_episodes_ns_start", "mc_episodes", ["namespace", "start_us"])
    op.create_index("ix_mc_episodes_ns_domain", "mc_episodes", ["namespace", "domain"])
    op.create_index("ix_mc_episodes_ns_learned", "mc_episodes", ["namespace", "learned", "end_us"])
    op.create_table(
        "mc_steps",
        _namespace(),
        _key("episode_id"),
        sa.Column("step_number", sa.Integer, primary_key=True),
        sa.Column("tool", sa.String(500), nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace", "episode_id"],
            ["mc_episodes.namespace", "mc_episodes.episode_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "mc_patterns",
        _namespace(),
        _key("pattern_id"),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("domain", sa.String(200)),
        sa.Column("success_rate", sa.Float, nullable=False),
        sa.Column("occurrence_count", sa.Integer, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_mc_patterns_ns_kind_domain", "mc_patterns", ["namespace", "kind", "domain"])
    op.create_index("ix_mc_patterns_ns_updated", "mc_patterns", ["namespace", "updated_us"])
    op.create_table(
        "mc_pattern_episodes",
        _namespace(),
        _key("pattern_id"),
        _key("episode_id"),
        sa.ForeignKeyConstraint(
            ["namespace", "pattern_id"],
            ["mc_patterns.namespace", "mc_patterns.pattern_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_mc_pattern_episodes_episode", "mc_pattern_episodes", ["namespace", "episode_id"]
    )
    op.create_table(
        "mc_heuristics",
        _namespace(),
        _key("heuristic_id"),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "mc_changes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("entity", sa.String(20), nullable=False),
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("op", sa.String(10), nullable=False),
    )
    op.create_index("ix_mc_changes_ns_seq", "mc_changes", ["namespace", "seq"])


def downgrade() -> None:
    """Not supported: memory-core only upgrades."""
    raise NotImplementedError("memory-core schemas are never downgraded")
