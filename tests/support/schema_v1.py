"""The first released schema (version 1), as DDL, for the upgrade tests.

Written out by hand from the version-1 table definitions, so the tests upgrade what an
old memory-core really created (not what today's models or migrations would create).
"""

from __future__ import annotations

from sqlalchemy import Connection

_TABLES = """
CREATE TABLE mc_schema_version (
    id {serial} NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (id)
);
CREATE TABLE mc_episodes (
    namespace VARCHAR(200) NOT NULL,
    episode_id VARCHAR(36) NOT NULL,
    task_type VARCHAR(40) NOT NULL,
    domain VARCHAR(200) NOT NULL,
    start_us BIGINT NOT NULL,
    end_us BIGINT,
    outcome_kind VARCHAR(40),
    reward_total FLOAT,
    learned BOOLEAN NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (namespace, episode_id)
);
CREATE INDEX ix_mc_episodes_ns_start ON mc_episodes (namespace, start_us);
CREATE INDEX ix_mc_episodes_ns_domain ON mc_episodes (namespace, domain);
CREATE INDEX ix_mc_episodes_ns_learned ON mc_episodes (namespace, learned, end_us);
CREATE TABLE mc_steps (
    namespace VARCHAR(200) NOT NULL,
    episode_id VARCHAR(36) NOT NULL,
    step_number INTEGER NOT NULL,
    tool VARCHAR(500) NOT NULL,
    success BOOLEAN NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (namespace, episode_id, step_number),
    FOREIGN KEY (namespace, episode_id)
        REFERENCES mc_episodes (namespace, episode_id) ON DELETE CASCADE
);
CREATE TABLE mc_patterns (
    namespace VARCHAR(200) NOT NULL,
    pattern_id VARCHAR(36) NOT NULL,
    kind VARCHAR(40) NOT NULL,
    domain VARCHAR(200),
    success_rate FLOAT NOT NULL,
    occurrence_count INTEGER NOT NULL,
    updated_us BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (namespace, pattern_id)
);
CREATE INDEX ix_mc_patterns_ns_kind_domain ON mc_patterns (namespace, kind, domain);
CREATE INDEX ix_mc_patterns_ns_updated ON mc_patterns (namespace, updated_us);
CREATE TABLE mc_pattern_episodes (
    namespace VARCHAR(200) NOT NULL,
    pattern_id VARCHAR(36) NOT NULL,
    episode_id VARCHAR(36) NOT NULL,
    PRIMARY KEY (namespace, pattern_id, episode_id),
    FOREIGN KEY (namespace, pattern_id)
        REFERENCES mc_patterns (namespace, pattern_id) ON DELETE CASCADE
);
CREATE INDEX ix_mc_pattern_episodes_episode ON mc_pattern_episodes (namespace, episode_id);
CREATE TABLE mc_heuristics (
    namespace VARCHAR(200) NOT NULL,
    heuristic_id VARCHAR(36) NOT NULL,
    updated_us BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (namespace, heuristic_id)
);
CREATE TABLE mc_changes (
    seq {bigserial} NOT NULL,
    namespace VARCHAR(200) NOT NULL,
    entity VARCHAR(20) NOT NULL,
    entity_id VARCHAR(36) NOT NULL,
    op VARCHAR(10) NOT NULL,
    PRIMARY KEY (seq)
);
CREATE INDEX ix_mc_changes_ns_seq ON mc_changes (namespace, seq);
INSERT INTO mc_schema_version (id, version) VALUES (1, 1);
"""


def create_schema_v1(connection: Connection) -> None:
    """Create the version-1 tables (SQLite or PostgreSQL) on ``connection``."""
    postgres = connection.dialect.name == "postgresql"
    ddl = _TABLES.format(
        serial="SERIAL" if postgres else "INTEGER",
        bigserial="BIGSERIAL" if postgres else "INTEGER",
    )
    for statement in ddl.split(";"):
        if statement.strip():
            connection.exec_driver_sql(statement)
