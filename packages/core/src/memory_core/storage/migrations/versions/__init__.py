"""Alembic revisions of memory-core's schema, oldest first (one per schema version)."""

__all__: list[str] = []
