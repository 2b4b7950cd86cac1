"""Schema 2: heuristic <-> episode links, back-filled from what schema 1 recorded.

Also creates ``mc_episode_embeddings`` where it is missing: it joined schema 1 after the
first release (databases written before that lack it).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

__all__ = ["downgrade", "upgrade"]

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_NO_HEURISTICS = '"heuristic_ids":[]'

_heuristics = sa.table(
    "mc_heuristics", sa.column("namespace"), sa.column("heuristic_id"), sa.column("data")
)
_episodes = sa.table(
    "mc_episodes",
    sa.column("namespace"),
    sa.column("episode_id"),
    sa.column("learned", sa.Boolean),
    sa.column("data"),
)
_links = sa.table(
    "mc_heuristic_episodes",
    sa.column("namespace"),
    sa.column("heuristic_id"),
    sa.column("episode_id"),
)
_version = sa.table("mc_schema_version", sa.column("id"), sa.column("version"))


def upgrade() -> None:
    """Create the missing tables, link heuristics to their episodes, record version 2."""
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "mc_episode_embeddings" not in tables:
        op.create_table(
            "mc_episode_embeddings",
            sa.Column("namespace", sa.String(200), primary_key=True),
            sa.Column("episode_id", sa.String(36), primary_key=True),
            sa.Column("model", sa.String(200), primary_key=True),
            sa.Column("dim", sa.Integer, nullable=False),
            sa.Column("vector", sa.LargeBinary, nullable=False),
            sa.ForeignKeyConstraint(
                ["namespace", "episode_id"],
                ["mc_episodes.namespace", "mc_episodes.episode_id"],
                ondelete="CASCADE",
            ),
        )
    if "mc_heuristic_episodes" not in tables:
        op.create_table(
            "mc_heuristic_episodes",
            sa.Column("namespace", sa.String(200), primary_key=True),
            sa.Column("heuristic_id", sa.String(36), primary_key=True),
            sa.Column("episode_id", sa.String(36), primary_key=True),
            sa.ForeignKeyConstraint(
                ["namespace", "heuristic_id"],
                ["mc_heuristics.namespace", "mc_heuristics.heuristic_id"],
                ondelete="CASCADE",
            ),
        )
        op.create_index(
            "ix_mc_heuristic_episodes_episode",
            "mc_heuristic_episodes",
            ["namespace", "episode_id"],
        )
    _link_heuristics_to_episodes(op.get_bind())
    op.execute(_version.update().where(_version.c.id == 1).values(version=2))


def _link_heuristics_to_episodes(connection: sa.Connection) -> None:
    """Fill ``mc_heuristic_episodes`` from the heuristics' evidence and the episodes.

    A heuristic's evidence keeps its newest episodes only, so the links also come from every
    learned episode's ``heuristic_ids`` (which lists each heuristic it fed, uncapped).
    Idempotent: links already stored are left alone.
    """
    known: set[tuple[str, str]] = set()
    links: set[tuple[str, str, str]] = set()
    for namespace, heuristic_id, data in connection.execute(
        sa.select(_heuristics.c.namespace, _heuristics.c.heuristic_id, _heuristics.c.data)
    ):
        known.add((namespace, heuristic_id))
        links.update((namespace, heuristic_id, e) for e in json.loads(data).get("evidence", []))
    if not known:
        return
    episodes = connection.execute(
        sa.select(_episodes.c.namespace, _episodes.c.episode_id, _episodes.c.data)
        .where(_episodes.c.learned.is_(True))
        .execution_options(yield_per=1000)
    )
    for namespace, episode_id, data in episodes:
        if _NO_HEURISTICS in data:
            continue
        links.update(
            (namespace, heuristic_id, episode_id)
            for heuristic_id in json.loads(data).get("heuristic_ids", [])
            if (namespace, heuristic_id) in known
        )
    existing = {
        (n, h, e)
        for n, h, e in connection.execute(
            sa.select(_links.c.namespace, _links.c.heuristic_id, _links.c.episode_id)
        )
    }
    rows = [
        {"namespace": n, "heuristic_id": h, "episode_id": e} for n, h, e in sorted(links - existing)
    ]
    for start in range(0, len(rows), 1000):
        connection.execute(_links.insert(), rows[start : start + 1000])


def downgrade() -> None:
    """Not supported: memory-core only upgrades."""
    raise NotImplementedError("memory-core schemas are never downgraded")
