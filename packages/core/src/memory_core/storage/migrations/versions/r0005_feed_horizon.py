"""Schema 5: ``mc_feed_horizon``, how far each namespace's change feed was trimmed.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["downgrade", "upgrade"]

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_version = sa.table("mc_schema_version", sa.column("id"), sa.column("version"))


def upgrade() -> None:
    """Create ``mc_feed_horizon``, record version 5."""
    if "mc_feed_horizon" not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            "mc_feed_horizon",
            sa.Column("namespace", sa.String(200), primary_key=True),
            sa.Column("seq", sa.BigInteger, nullable=False),
        )
    op.execute(_version.update().where(_version.c.id == 1).values(version=5))


def downgrade() -> None:
    """Not supported: memory-core only upgrades."""
    raise NotImplementedError("memory-core schemas are never downgraded")
