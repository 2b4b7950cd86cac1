"""Schema 5 (placeholder on this line of work: the change-feed horizon revision replaces it).

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
    """Record version 5."""
    op.execute(_version.update().where(_version.c.id == 1).values(version=5))


def downgrade() -> None:
    """Not supported: memory-core only upgrades."""
    raise NotImplementedError("memory-core schemas are never downgraded")
