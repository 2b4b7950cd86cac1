"""Alembic migrations: a database of the first released schema upgrades with its data."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests.conftest import postgres_url
from tests.support.schema_v1 import create_schema_v1

from memory_core import (
    Episode,
    Heuristic,
    SQLAlchemyEpisodeStore,
    StorageError,
    TaskOutcome,
    ToolSequence,
)
from memory_core.storage._schema import SCHEMA_VERSION, Base
from memory_core.storage.migrations import HEAD, VERSION_TABLE, alembic_config
from memory_core.storage.sqlalchemy import _episode_row, _pattern_row, _step_row

Factory = Callable[..., Episode]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL schema (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    base = postgres_url()
    schema = f"mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def _engine(url: str) -> Any:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _seed_v1(url: str, episode_factory: Factory) -> dict[str, Any]:
    """A schema-1 database with two namespaces of learned and in-flight episodes."""
    rule = Heuristic(condition="when the test fails", action="read the log")
    done = [
        episode_factory(f"fix bug {i}", steps=2, outcome=TaskOutcome.success("ok"))
        for i in range(3)
    ]
    done = [e.model_copy(update={"heuristic_ids": [rule.heuristic_id]}) for e in done]
    pattern = ToolSequence(
        tools=["read", "edit"],
        success_rate=1.0,
        occurrence_count=2,
        evidence=[done[0].episode_id, done[1].episode_id],
    )
    rule = rule.model_copy(update={"evidence": [done[0].episode_id], "sample_size": 3})
    flying = episode_factory("still running", steps=1)
    engine = _engine(url)
    with engine.begin() as conn:
        create_schema_v1(conn)
        for ns, episodes in (("alpha", done), ("beta", [flying])):
            for episode in episodes:
                row = _episode_row(ns, episode)
                row["learned"] = episode.is_complete
                conn.execute(
                    text(
                        "INSERT INTO mc_episodes (namespace, episode_id, task_type, domain, "
                        "start_us, end_us, outcome_kind, reward_total, learned, data) VALUES "
                        "(:namespace, :episode_id, :task_type, :domain, :start_us, :end_us, "
                        ":outcome_kind, :reward_total, :learned, :data)"
                    ),
                    row,
                )
                for step in episode.steps:
                    conn.execute(
                        text(
                            "INSERT INTO mc_steps VALUES "
                            "(:namespace, :episode_id, :step_number, :tool, :success, :data)"
                        ),
                        _step_row(ns, episode.episode_id, step),
                    )
                conn.execute(
                    text(
                        "INSERT INTO mc_changes (namespace, entity, entity_id, op) "
                        "VALUES (:ns, 'episode', :id, 'upsert')"
                    ),
                    {"ns": ns, "id": str(episode.episode_id)},
                )
        conn.execute(
            text(
                "INSERT INTO mc_patterns VALUES (:namespace, :pattern_id, :kind, :domain, "
                ":success_rate, :occurrence_count, :updated_us, :data)"
            ),
            _pattern_row("alpha", pattern),
        )
        for episode_id in pattern.evidence:
            conn.execute(
                text("INSERT INTO mc_pattern_episodes VALUES ('alpha', :p, :e)"),
                {"p": str(pattern.pattern_id), "e": str(episode_id)},
            )
        conn.execute(
            text("INSERT INTO mc_heuristics VALUES ('alpha', :id, 1, :data)"),
            {"id": str(rule.heuristic_id), "data": rule.model_dump_json()},
        )
    engine.dispose()
    return {"done": done, "flying": flying, "pattern": pattern, "rule": rule}


def _schema_differences(url: str) -> list[Any]:
    engine = _engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        found = compare_metadata(context, Base.metadata)
    engine.dispose()
    return [
        d
        for d in found
        if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE) and not _postgresql_only(d)
    ]


def _postgresql_only(difference: Any) -> bool:
    """The search index's ``tsvector`` column and GIN index are not in the models (see
    `memory_core.storage._search_schema.create_postgresql_objects`)."""
    if difference[0] == "remove_index":
        return bool(difference[1].name == "ix_mc_search_docs_lexemes")
    if difference[0] == "remove_column":
        return bool(difference[2] == "mc_search_docs" and difference[3].name == "lexemes")
    return False


def test_a_schema_1_database_is_upgraded_with_its_data(
    empty_url: str, episode_factory: Factory
) -> None:
    seeded = _seed_v1(empty_url, episode_factory)
    store = SQLAlchemyEpisodeStore(empty_url)
    try:
        assert store.migration.from_revision is None
        assert store.migration.upgraded
        assert store.schema_version == SCHEMA_VERSION
        for episode in seeded["done"]:
            assert store.get_episode("alpha", episode.episode_id) == episode
        assert store.get_episode("beta", seeded["flying"].episode_id) == seeded["flying"]
        assert store.count_episodes("alpha") == 3
        assert store.count_episodes("beta") == 1
        assert store.unlearned_episode_ids("alpha") == []
        pattern = seeded["pattern"]
        assert store.get_pattern("alpha", pattern.pattern_id) == pattern
        assert set(store.pattern_episode_ids("alpha", pattern.pattern_id)) == set(pattern.evidence)
        assert store.list_heuristics("alpha") == [seeded["rule"]]
        assert [c.op for c in store.changes_since("alpha", 0)] == ["upsert"] * 3
        with store._engine.connect() as conn:
            linked = set(
                conn.execute(text("SELECT episode_id FROM mc_heuristic_episodes")).scalars()
            )
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == HEAD
        # back-filled beyond the heuristic's (capped) evidence, from the episodes
        assert linked == {str(e.episode_id) for e in seeded["done"]}
        store.put_episode_embeddings("alpha", "m", {seeded["done"][0].episode_id: [1.0, 2.0]})
    finally:
        store.close()
    assert _schema_differences(empty_url) == []
    again = SQLAlchemyEpisodeStore(empty_url)
    try:
        assert again.migration.from_revision == HEAD
        assert not again.migration.upgraded
    finally:
        again.close()


def test_a_new_database_matches_the_models(empty_url: str) -> None:
    SQLAlchemyEpisodeStore(empty_url).close()
    assert _schema_differences(empty_url) == []


def test_a_schema_2_database_is_stamped_at_its_revision(
    empty_url: str, episode_factory: Factory
) -> None:
    seeded = _seed_v1(empty_url, episode_factory)
    engine = _engine(empty_url)
    with engine.begin() as conn:  # what schema 2 added, without Alembic
        conn.exec_driver_sql(
            "CREATE TABLE mc_heuristic_episodes (namespace VARCHAR(200) NOT NULL, "
            "heuristic_id VARCHAR(36) NOT NULL, episode_id VARCHAR(36) NOT NULL, "
            "PRIMARY KEY (namespace, heuristic_id, episode_id))"
        )
        conn.exec_driver_sql("UPDATE mc_schema_version SET version = 2")
    engine.dispose()
    store = SQLAlchemyEpisodeStore(empty_url)
    try:
        assert store.migration.from_revision is None
        assert store.schema_version == SCHEMA_VERSION
        with store._engine.connect() as conn:
            # stamped at 0002: its back-fill did not run again
            assert conn.execute(text("SELECT count(*) FROM mc_heuristic_episodes")).scalar() == 0
        assert store.get_episode("alpha", seeded["done"][0].episode_id) == seeded["done"][0]
    finally:
        store.close()


def test_a_newer_revision_is_refused(sqlite_url: str) -> None:
    SQLAlchemyEpisodeStore(sqlite_url).close()
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StorageError, match="upgrade memory-core"):
        SQLAlchemyEpisodeStore(sqlite_url)


def test_head_names_the_newest_script(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        script = ScriptDirectory.from_config(alembic_config(conn))
        assert script.get_heads() == [HEAD]
    engine.dispose()
