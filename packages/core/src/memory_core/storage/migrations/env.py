"""Alembic environment: runs on the connection `memory_core.storage.migrations` hands over.

Migrations never open connections of their own; the store passes its open, locked
connection in ``config.attributes["connection"]`` so an upgrade is one transaction.
"""

from __future__ import annotations

from alembic import context

from memory_core.storage._schema import Base
from memory_core.storage.migrations import VERSION_TABLE

__all__ = ["run_migrations"]


def run_migrations() -> None:
    """Run the pending revisions on the connection in the Alembic config's attributes."""
    context.configure(
        connection=context.config.attributes["connection"],
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


if getattr(context, "_proxy", None) is not None:  # run by Alembic, not merely imported
    run_migrations()
