"""Builders and checks shared by the retention, pruning and erasure tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import Table, func, select, text
from tests.support.rewards import flat_reward

from memory_core import (
    ContextPattern,
    Episode,
    Heuristic,
    SQLAlchemyEpisodeStore,
    TaskContext,
    TaskOutcome,
    ToolSequence,
)
from memory_core.models import ExecutionResult, ExecutionStep
from memory_core.storage._schema import Base

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

EPISODE_TABLES = (
    "mc_steps",
    "mc_episode_embeddings",
    "mc_episode_usage",
    "mc_pattern_episodes",
    "mc_heuristic_episodes",
)
"""Tables whose rows belong to an episode (by ``episode_id``)."""


def episode(index: int, *, reward: float = 1.0, start: datetime = T0, steps: int = 1) -> Episode:
    """A completed episode with ``steps`` steps and the given reward total."""
    begin = start + timedelta(seconds=index)
    return Episode(
        task_description=f"fix bug number {index} in the parser",
        context=TaskContext(domain="web", language="python"),
        start_time=begin,
        end_time=begin + timedelta(seconds=1),
        outcome=TaskOutcome.success("ok"),
        reward=flat_reward(reward),
        steps=[
            ExecutionStep(
                step_number=n,
                tool=f"tool{n}",
                action=f"action {n}",
                result=ExecutionResult.success("done"),
            )
            for n in range(1, steps + 1)
        ],
    )


def patterns_for(ids: Sequence[UUID]) -> tuple[ToolSequence, ContextPattern, Heuristic]:
    """A tool sequence, a context pattern and a heuristic learned from ``ids``."""
    evidence = list(ids[:50])
    return (
        ToolSequence(
            tools=["read", "edit"], success_rate=1.0, occurrence_count=len(ids), evidence=evidence
        ),
        ContextPattern(
            context_features=["domain:web"],
            recommended_approach="read first",
            success_rate=1.0,
            occurrence_count=1,
            evidence=evidence,
        ),
        Heuristic(
            condition="when the parser fails",
            action="read the grammar",
            evidence=evidence,
            success_count=len(ids),
            sample_size=len(ids),
        ),
    )


def seed(
    store: SQLAlchemyEpisodeStore, namespace: str, episodes: Sequence[Episode], *, linked: int
) -> tuple[ToolSequence, ContextPattern, Heuristic]:
    """Store learned episodes; the first ``linked`` of them are a pattern trio's evidence."""
    ids = [e.episode_id for e in episodes[:linked]]
    tools, context, rule = patterns_for(ids)
    store.import_records(
        namespace,
        [(e, True) for e in episodes],
        [(tools, ids), (context, ids)],
        [rule.model_copy(update={"evidence": ids})],
    )
    return tools, context, rule


def namespaced_tables() -> list[Table]:
    """Every memory-core table with a namespace column."""
    return [t for t in Base.metadata.sorted_tables if "namespace" in t.c]


def row_counts(store: SQLAlchemyEpisodeStore, namespace: str) -> dict[str, int]:
    """Rows per namespaced table for one namespace."""
    with store._engine.connect() as conn:
        return {
            t.name: int(
                conn.execute(
                    select(func.count()).select_from(t).where(t.c.namespace == namespace)
                ).scalar_one()
            )
            for t in namespaced_tables()
        }


def dangling_rows(store: SQLAlchemyEpisodeStore, namespace: str) -> dict[str, int]:
    """Rows of episode-owned tables whose episode no longer exists (all should be 0)."""
    out: dict[str, int] = {}
    with store._engine.connect() as conn:
        for table in EPISODE_TABLES:
            out[table] = int(
                conn.execute(
                    text(
                        f"SELECT count(*) FROM {table} t WHERE t.namespace = :ns AND NOT EXISTS "
                        "(SELECT 1 FROM mc_episodes e WHERE e.namespace = t.namespace "
                        "AND e.episode_id = t.episode_id)"
                    ),
                    {"ns": namespace},
                ).scalar_one()
            )
    return out


def evidence_outside(store: SQLAlchemyEpisodeStore, namespace: str) -> int:
    """Evidence ids of patterns and heuristics that name a deleted episode."""
    with store._engine.connect() as conn:
        existing = set(
            conn.execute(
                text("SELECT episode_id FROM mc_episodes WHERE namespace = :ns"), {"ns": namespace}
            ).scalars()
        )
    items = [*store.list_patterns(namespace, limit=None), *store.list_heuristics(namespace)]
    return sum(1 for item in items for e in item.evidence if str(e) not in existing)
